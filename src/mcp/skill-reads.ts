/**
 * Which version of each skill this MCP session last read (get_skill, a skill:// resource, or
 * skills/get). A run the session submits for that skill without saying which version it used
 * is taken to have used that one (issue 12, item 1): an agent that loaded a skill and then ran
 * with it reports the version without having to repeat it.
 */
export class SkillReads {
  private readonly last = new Map<string, number>();

  note(skill: string, version: number): void {
    this.last.set(skill, version);
  }

  versionOf(skill: string | null | undefined): number | undefined {
    return skill ? this.last.get(skill) : undefined;
  }
}
