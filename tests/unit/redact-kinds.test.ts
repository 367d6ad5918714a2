import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../src/util/redact.js";
import { openTestEngine } from "../helpers/mcp.js";

/**
 * Issue 11, item 3: at least 30 kinds of secret, each in every place a run carries text (task,
 * step text, tool-call arguments and their keys, tool results, outcome feedback and ground
 * truth, tags), are gone before anything is stored. Values are built at run time so this file
 * holds no literal that a scanner would take for a real key.
 */

const r = (n: number, alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7 + n) % alphabet.length]).join("");
const hex = (n: number) => r(n, "0123456789abcdef");

/** [kind, the text as an agent might print it, the secret part that must not survive]. */
const CASES: [string, string, string][] = [
  ["openai", `OPENAI_KEY ${"sk-proj-" + r(48)}`, "sk-proj-" + r(48)],
  ["anthropic", `using ${"sk-ant-api03-" + r(40)}`, "sk-ant-api03-" + r(40)],
  ["aws access key id", `id ${"AKIA" + r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`, "AKIA" + r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")],
  ["aws secret via aws configure", `aws configure set aws_secret_access_key ${r(40)}`, r(40)],
  ["github", `push with ${"ghp_" + r(36)}`, "ghp_" + r(36)],
  ["github fine-grained", `${"github_pat_" + r(22) + "_" + r(59)}`, "github_pat_" + r(22) + "_" + r(59)],
  ["gitlab", `token ${"glpat-" + r(20)}`, "glpat-" + r(20)],
  ["slack bot", `${"xoxb-" + hex(12) + "-" + r(24)}`, "xoxb-" + hex(12) + "-" + r(24)],
  ["slack webhook", `https://hooks.slack.com/services/T${r(8)}/B${r(8)}/${r(24)}`, r(24)],
  ["google api key", `key=${"AIza" + r(35)}`, "AIza" + r(35)],
  ["stripe live", `charge with ${"sk_live_" + r(24)}`, "sk_live_" + r(24)],
  ["stripe restricted", `${"rk_live_" + r(24)}`, "rk_live_" + r(24)],
  ["stripe webhook", `${"whsec_" + r(32)}`, "whsec_" + r(32)],
  ["jwt in prose", `the token is ${"eyJ" + r(20)}.${"eyJ" + r(30)}.${r(43)} ok`, `${"eyJ" + r(30)}.${r(43)}`],
  ["huggingface", `${"hf_" + r(34)}`, "hf_" + r(34)],
  ["sendgrid", `${"SG." + r(22) + "." + r(43)}`, "SG." + r(22) + "." + r(43)],
  ["azure storage", `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${r(86)}==;EndpointSuffix=core.windows.net`, r(86)],
  ["npm", `//registry.npmjs.org/:_authToken=${"npm_" + r(36)}`, "npm_" + r(36)],
  [".env database password", "DB_PASS=hunter2hunter2", "hunter2hunter2"],
  [".env service key", `PAYMENTS_SERVICE_KEY=${r(32)}`, r(32)],
  ["password assignment", "password: correct-horse-battery-staple", "correct-horse-battery-staple"],
  ["url password", `postgres://admin:${r(16)}@db.internal:5432/app`, r(16)],
  ["bearer", `Authorization: Bearer ${r(40)}`, r(40)],
  ["private key", `-----BEGIN RSA PRIVATE KEY-----\n${r(64)}\n-----END RSA PRIVATE KEY-----`, r(64)],
  ["mailgun", `${"key-" + hex(32)}`, "key-" + hex(32)],
  ["digitalocean", `${"dop_v1_" + hex(64)}`, "dop_v1_" + hex(64)],
  ["shopify", `${"shpat_" + hex(32)}`, "shpat_" + hex(32)],
  ["pypi", `${"pypi-AgEIcHlwaS5vcmc" + r(60)}`, "pypi-AgEIcHlwaS5vcmc" + r(60)],
  ["docker hub", `${"dckr_pat_" + r(27)}`, "dckr_pat_" + r(27)],
  ["databricks", `${"dapi" + hex(32)}`, "dapi" + hex(32)],
  ["telegram bot", `bot${"1234567890:AA" + r(33)}`, "1234567890:AA" + r(33)],
  ["twilio api key", `${"SK" + hex(32)}`, "SK" + hex(32)],
  ["groq", `${"gsk_" + r(52)}`, "gsk_" + r(52)],
  ["replicate", `${"r8_" + r(37)}`, "r8_" + r(37)],
  ["vault", `${"hvs." + r(90)}`, "hvs." + r(90)],
  ["age secret key", `${"AGE-SECRET-KEY-1" + r(58, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}`, "AGE-SECRET-KEY-1" + r(58, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")],
  ["linear", `${"lin_api_" + r(40)}`, "lin_api_" + r(40)],
  ["new relic", `${"NRAK-" + r(27, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}`, "NRAK-" + r(27, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")],
];

describe("secret kinds (issue 11, item 3)", () => {
  it(`covers at least 30 kinds (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  for (const [kind, text, secret] of CASES) {
    it(`redacts ${kind} in text`, () => {
      const out = redactSecrets(text);
      expect(out.value, kind).not.toContain(secret);
      expect(out.count, kind).toBeGreaterThan(0);
    });
  }

  it("leaves ordinary text alone: words, ids, hashes, sort keys, file names", () => {
    for (const text of [
      "SORT_KEY=name",
      "PRIMARY_KEY=id",
      "the task-runner skill passed 12 tests",
      `commit ${hex(40)} and run id ${hex(64)}`,
      "bypass=true",
      "key-value store",
      "use skim_link and sk-learn for the pipeline",
      "call eyJ when ready",
    ]) {
      const out = redactSecrets(text);
      expect(out.value, text).toBe(text);
    }
  });

  it("removes every kind from every place a submitted run carries text", async () => {
    const engine = await openTestEngine();
    const runs = CASES.map(([kind, text]) => ({
      skill: "secrets",
      task: `task: ${text}`,
      tags: [`tag ${text}`.slice(0, 100)],
      steps: [
        { role: "user", text },
        { role: "assistant", text: `echo ${text}`, toolCalls: [{ id: "c1", name: "shell", arguments: { command: text, [text.slice(0, 200)]: kind } }] },
        { role: "tool", toolResult: { callId: "c1", name: "shell", content: `output: ${text}` } },
      ],
      outcome: { success: false, feedback: `failed after ${text}`, expected: `expected ${text}` },
    }));
    const ids: string[] = [];
    for (const run of runs) ids.push(...(await engine.submit({ raw: run, format: "canonical" })).ids);
    expect(ids).toHaveLength(CASES.length);
    const stored = JSON.stringify(await Promise.all(ids.map((id) => engine.getTrajectory(id))));
    for (const [kind, , secret] of CASES) expect(stored.includes(secret), kind).toBe(false);
  });
});

describe("redaction found wanting by a review (session 3)", () => {
  it("leaves code and prose alone", () => {
    for (const text of [
      "if password == user.password:\n    return True",
      "const token = req.headers.authorization;",
      "def check(api_key: str) -> bool:",
      "self.api_key = api_key",
      "secret=os.environ['X']",
      "The password: must be at least 8 characters.",
      "CACHE_KEY=user:1234:profile:abcdefXYZ",
      "S3_KEY=uploads/2024/05/img_12345678.png",
    ]) {
      expect(redactSecrets(text).value, text).toBe(text);
    }
  });

  it("redacts header name/value pairs, whole .env passwords, command-line passwords, SAS signatures and SECRET_KEY_BASE", () => {
    const cases: [unknown, string][] = [
      [{ name: "Authorization", value: "Basic YWxhZGRpbjpvcGVuc2VzYW1l" }, "YWxhZGRpbjpvcGVuc2VzYW1l"],
      [{ name: "X-Api-Key", value: "a1b2c3d4e5f6g7h8i9j0" }, "a1b2c3d4e5f6g7h8i9j0"],
      [{ key: "api_key", value: "Hunter2Secret99" }, "Hunter2Secret99"],
      ["DB_PASSWORD=Tr0ub4dor&3horse", "3horse"],
      ["curl -u admin:s3cretPass https://api.example.com", "s3cretPass"],
      ["mysql -uroot -pS3cr3tPw shop", "S3cr3tPw"],
      ["sshpass -p 'pw1234567' ssh host", "pw1234567"],
      ["deploy --password S3cr3tPw --host x", "S3cr3tPw"],
      ["https://acct.blob.core.windows.net/c/b?sv=2021-08-06&sig=abcdEFGH1234%2Bijkl%3D", "abcdEFGH1234%2Bijkl%3D"],
      [`SECRET_KEY_BASE=${hex(96)}`, hex(96)],
    ];
    for (const [value, secret] of cases) {
      const out = JSON.stringify(redactSecrets(value).value);
      expect(out.includes(secret), JSON.stringify(value)).toBe(false);
    }
  });
});

describe("more of what a review found (session 3)", () => {
  it("redacts cookie headers and the key of a Sentry DSN", () => {
    for (const [value, secret] of [
      ["Cookie: sessionid=9f8e7d6c5b4a3210; csrftoken=abcdef123456", "9f8e7d6c5b4a3210"],
      [{ headers: { Cookie: "session=Zx9Yw8Vu7Ts6Rq5Po4" } }, "Zx9Yw8Vu7Ts6Rq5Po4"],
      ["SENTRY_DSN=https://" + hex(32) + "@o4505.ingest.us.sentry.io/4506", hex(32)],
    ] as const) {
      expect(JSON.stringify(redactSecrets(value).value).includes(secret), JSON.stringify(value)).toBe(false);
    }
  });
});
