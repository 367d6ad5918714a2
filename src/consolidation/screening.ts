/**
 * Screening a skill's lines by what they DO, not by how they are spelled (issue 11, item 4).
 * A line is blocked when, once its obfuscation is undone (c''url, cu\rl, w""get, ^-escapes),
 * it fetches remote code and hands it to an interpreter or installer, opens a reverse shell,
 * installs a package from a URL, or links to a script. Separately, a line a draft ADDS that
 * is a command line or a link to code is flagged for a person to read before promote, whatever
 * it does: the base skill had no such line.
 */

/** Undo the spelling tricks that keep a command working while hiding it from a plain match. */
export function normaliseCommand(line: string): string {
  let s = line;
  for (let i = 0; i < 3; i++) {
    s = s
      .replace(/([A-Za-z0-9_])(?:''|"")(?=[A-Za-z0-9_])/g, "$1") // c''url, w""get
      .replace(/([A-Za-z0-9_])\\(?=[A-Za-z0-9_])/g, "$1") // cu\rl
      .replace(/([A-Za-z0-9_])\^(?=[A-Za-z0-9_])/g, "$1"); // cmd's c^url
  }
  return s.replace(/\s+/g, " ").toLowerCase();
}

/** Something that brings bytes from elsewhere: a downloader, a URL opener, or a URL itself. */
const REMOTE = new RegExp(
  [
    String.raw`\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod|start-bitstransfer|bitsadmin|downloadstring|downloadfile|urlopen|urlretrieve|open-uri|uri\.open|requests\.get|http\.get|fetch\s*\()`,
    String.raw`\bcertutil\b[^\n]*-urlcache`,
    String.raw`\b(?:https?|ftp):\/\/`,
  ].join("|"),
);

const INTERPRETER = String.raw`(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:\S*\/)?(?:(?:ba|z|k|da|fi|c|tc)?sh|python[0-9.]*|perl|ruby|node|deno|bun|php|pwsh|powershell|iex|invoke-expression|xargs|source|cmd)\b`;

/** Piping into an interpreter: the most common way of running what was fetched. */
const PIPED_TO_INTERPRETER = new RegExp(String.raw`\|\s*${INTERPRETER}`);

/** Handing what was fetched to something that runs it. */
const RUNS_IT = new RegExp(
  [
    PIPED_TO_INTERPRETER.source, // … | sh, | env bash, | pwsh -, | iex, | xargs sh
    String.raw`\b(?:exec|eval)\s*\(`, // exec(urlopen(…)), .then(eval)
    String.raw`\.then\(\s*eval\s*\)`,
    String.raw`\beval\b\s*["'(]?\s*\$\(`, // eval "$(curl …)"
    String.raw`\b(?:iex|invoke-expression)\b`, // iex (iwr …), Invoke-Expression (…).DownloadString
    String.raw`(?:\bsource|(?:^|\s)\.|${INTERPRETER})\s+<\(`, // source <(curl), sh <(curl)
    String.raw`\s-[ce]\s+["']?\$\(`, // bash -c "$(curl)", perl -e "$(wget)"
    String.raw`\s-c\s+["'][^"']*\b(?:exec|eval|import)\b`, // python3 -c "…exec(…)"
    String.raw`(?:&&|;)\s*(?:chmod\s+\S+\s+\S+\s*(?:&&|;)\s*)?(?:\.{0,2}\/|~\/)\S+`, // … && chmod +x /tmp/x && /tmp/x
    String.raw`(?:&&|;)\s*(?:(?:ba|z)?sh|python[0-9.]*|perl|ruby|node)\s+\S+`, // wget … && bash /tmp/i.sh
    String.raw`(?:&&|;)\s*\S+\.(?:exe|bat|cmd|msi|ps1|vbs)\b`, // certutil … && x.exe
  ].join("|"),
);

/** A package installed (or run) straight from a URL or a repository. */
const INSTALLS_FROM_URL =
  /\b(?:pip[0-9.]*|pipx|uv\s+pip|npm|pnpm|yarn|npx|bunx|gem|cargo|go)\s+(?:(?:install|add|run|i|exec|dlx)\s+)?(?:-\S+\s+)*(?:[^\s]*\s+)?(?:https?:\/\/|git\+|git@|github:)/;

const REVERSE_SHELL = /\b(?:nc|ncat|netcat)\b[^\n]*\s-[ec]\s+\S*(?:sh|cmd)|\/dev\/tcp\/|\bsocat\b[^\n]*\bexec:/;

const SCRIPT_EXT = String.raw`(?:sh|bash|zsh|ps1|psm1|py|rb|pl|php|js|mjs|bat|cmd|exe|msi|vbs|scr|jar|apk|dmg|pkg|deb|rpm|appimage)`;
/** A link (Markdown or bare) to a script or an executable somewhere else. */
const LINK_TO_SCRIPT = new RegExp(
  String.raw`(?:https?|ftp):\/\/[^\s)"'<>]+\.${SCRIPT_EXT}(?:[?#][^\s)"'<>]*)?(?=[\s)"'<>]|$)|\b(?:raw\.githubusercontent\.com|gist\.githubusercontent\.com)\/`,
  "i",
);

/** What a line does that must never reach a skill unreviewed, or null. */
export function dangerousBehaviour(line: string): string | null {
  const s = normaliseCommand(line);
  if (REMOTE.test(s) && RUNS_IT.test(s)) {
    return PIPED_TO_INTERPRETER.test(s) ? "a download piped into a shell or interpreter" : "remote code handed to an interpreter";
  }
  if (INSTALLS_FROM_URL.test(s)) return "a package installed from a URL";
  if (REVERSE_SHELL.test(s)) return "a reverse shell";
  if (LINK_TO_SCRIPT.test(s)) return "a link to a script or executable";
  return null;
}

const EXECUTABLES = String.raw`(?:sudo|make|npm|npx|pnpm|yarn|bunx?|pip[0-9.]*|pipx|uvx?|python[0-9.]*|node|deno|bash|sh|zsh|curl|wget|git|docker|podman|kubectl|helm|terraform|rm|chmod|chown|mv|cp|dd|mkfs|powershell|pwsh|iex|cmd|nc|ncat|perl|ruby|php|go|cargo|brew|apt(?:-get)?|yum|dnf|apk|systemctl|ssh|scp|rsync|eval|source|export)`;
const INLINE_COMMAND = new RegExp(String.raw`\`\s*(?:\$\s+)?${EXECUTABLES}\s[^\`]*\``, "i");
const PROMPT_LINE = /^\s*(?:[-*+]\s+)?(?:\$|PS>|PS [A-Z]:\\[^>]*>|>>>|C:\\[^>]*>)\s+\S/;
const SHELL_FENCE = /^(?:sh|bash|zsh|shell|console|shell-session|terminal|powershell|ps1|pwsh|cmd|bat|fish|)$/i;

/**
 * The lines of a file that are commands: inside a shell (or untagged) code fence, after a
 * prompt ($, PS>), or an inline code span that starts with an executable.
 */
export function commandLines(text: string): { line: string; why: string }[] {
  const found: { line: string; why: string }[] = [];
  let fence: { marker: string; shell: boolean } | null = null;
  for (const line of text.split("\n")) {
    const opening = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (opening) {
      if (fence && line.trim().startsWith(fence.marker)) fence = null;
      else if (!fence) fence = { marker: opening[1] as string, shell: SHELL_FENCE.test(opening[2] ?? "") };
      continue;
    }
    if (fence) {
      if (fence.shell && line.trim() !== "" && !line.trim().startsWith("#")) found.push({ line, why: "a command line" });
      continue;
    }
    if (PROMPT_LINE.test(line) || INLINE_COMMAND.test(line)) found.push({ line, why: "a command line" });
    else if (LINK_TO_SCRIPT.test(line)) found.push({ line, why: "a link to code" });
  }
  return found;
}
