/**
 * Secret redaction for untrusted trajectories. Runs on every ingested run BEFORE it is
 * hashed, stored or shown to a model, so a key an agent printed never leaves the submit
 * call. Each secret becomes `[REDACTED:<kind>]`; labels, schemes and user names around it
 * are kept so the step still reads naturally for an analyst.
 *
 * The rules lean toward known token shapes (prefixes, lengths: secret-rules.ts, as data) and
 * explicit labels; entropy decides only for values under names that may or may not hold a
 * secret (`PAYMENTS_KEY=…` yes, `SORT_KEY=name` no). Ordinary words and content hashes (sha256
 * ids) must pass through.
 */
import { TOKEN_SHAPES } from "./secret-rules.js";

export interface RedactionResult<T> {
  value: T;
  count: number;
  kinds: Record<string, number>;
}

type Tally = Map<string, number>;

interface TextRule {
  kind: string;
  pattern: RegExp;
  /** Builds the replacement from the match groups; the default replaces the whole match. */
  replace?: (marker: string, groups: string[]) => string;
  /** Extra check on the match groups (an unmatched group is ""), for shapes a regex alone would over-match. */
  accept?: (groups: string[]) => boolean;
}

const marker = (kind: string): string => `[REDACTED:${kind}]`;

/** Values that name a secret without being one: env references, placeholders, masks. */
const PLACEHOLDER =
  /^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\*+|x{3,}|\.{3,}|\[REDACTED:[a-z-]+\]|true|false|null|none|undefined|-?\d+(?:\.\d+)?)$/i;

function isPlaceholder(value: string): boolean {
  return value.trim().length === 0 || PLACEHOLDER.test(value.trim());
}

/** Words that follow "password:" or "api_key =" in code and prose, not secrets. */
const NOT_A_VALUE = new Set(
  "str string int integer bool boolean float number any none null nil true false self this return must is be see the a an required optional undefined object dict list bytes".split(" "),
);

/**
 * A value that is code, not a literal: a dotted identifier (`user.password`, `req.headers.auth`),
 * a call or an index (`os.environ['X']`, `getenv(`), a type or a word of prose, or the key's own
 * name (`self.api_key = api_key`).
 */
function looksLikeCode(value: string, key: string): boolean {
  const v = value.replace(/[;,)]+$/, "");
  if (NOT_A_VALUE.has(v.toLowerCase())) return true;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v)) return true;
  if (/[([]/.test(v) || /^(?:os\.environ|process\.env|env\.|getenv)/i.test(v)) return true;
  return v === key || v === key.replace(/^.*[.]/, "");
}

/**
 * An opaque credential mixes letters with digits, or is long and mixes cases. Keeps
 * "Bearer authentication" or "Authorization: required" from being taken for tokens.
 */
function looksLikeCredential(value: string): boolean {
  const hasDigit = /\d/.test(value);
  const hasLetter = /[A-Za-z]/.test(value);
  if (hasDigit && hasLetter && value.length >= 8) return true;
  return value.length >= 20 && /[a-z]/.test(value) && /[A-Z]/.test(value);
}

/** Real OpenAI keys carry a long unbroken alphanumeric run; slugs like sk-learn-... do not. */
function looksLikeOpenAiKey(body: string): boolean {
  const longestRun = body.split(/[-_]/).reduce((max, part) => Math.max(max, part.length), 0);
  return longestRun >= 16 && /\d/.test(body) && /[A-Za-z]/.test(body);
}

/** Bits per character of a string's own character distribution. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

/** A value under a `*_KEY` / `*_AUTH` / `*_CRED` name is a secret when it is long and random-looking. */
function looksRandom(value: string): boolean {
  // Paths and cache keys (uploads/2024/05/x.png, user:1234:profile) are made of words, not noise.
  if ((value.match(/[/:]/g) ?? []).length >= 2) return false;
  return value.length >= 16 && entropy(value) >= 3.5 && /[A-Za-z]/.test(value) && (/\d/.test(value) || /[a-z].*[A-Z]|[A-Z].*[a-z]/.test(value));
}

/** Key names that label a secret, in assignments (`api_key=...`) and JSON members. */
const SECRET_KEY_WORDS = "password|passwd|passphrase|api[_-]?key|secret|token|access[_-]?key";
const SECRET_KEY = new RegExp(`^[A-Za-z0-9_.-]{0,64}?(?:${SECRET_KEY_WORDS})$`, "i");
const PASSWORD_KEY = /(?:password|passwd|passphrase)$/i;
const AUTHORIZATION_KEY = /^(?:proxy-)?authorization$/i;
/** Header names that carry a credential. */
const SECRET_HEADER = /^(?:x-)?(?:api[-_]?key|auth[-_]?token|access[-_]?token|secret|session[-_]?token|csrf[-_]?token|cookie|set-cookie)$/i;
const AUTH_SCHEME = /^(Bearer|Basic|Token|Digest)(\s{1,8})(\S[\s\S]{0,4096})$/i;

function assignmentKind(key: string): string {
  return PASSWORD_KEY.test(key) ? "password" : "secret-assignment";
}

/** Separator between a label and its value: `key=v`, `key: v`, `"key": "v"`, escaped JSON too. */
const SEP = String.raw`\\?["']?[ \t]{0,8}[:=](?!=)[ \t]{0,8}\\?["']?`;

/**
 * Order matters: provider-specific shapes first, so generic rules see their markers and skip.
 * Every repeat is bounded: V8 keeps backtracking state on a stack, and an unbounded repeat
 * over a multi-megabyte blob (a base64 image in a tool result) overflows it.
 */
const TEXT_RULES: readonly TextRule[] = [
  {
    kind: "private-key",
    // A block cut short (no END line) is still a key: take the base64 lines that follow it.
    // The body may not contain "-----", which keeps the scan linear on hostile input.
    pattern:
      /-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----(?:(?:(?!-----)[\s\S]){0,16384}-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----|(?:(?:\s|\\n){1,4}[A-Za-z0-9+/=]{16,128}){0,512})/g,
  },
  {
    kind: "slack-webhook",
    pattern: /https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{1,256}/g,
  },
  ...TOKEN_SHAPES,
  {
    kind: "azure-storage-key",
    pattern: /((?:AccountKey|SharedAccessKey)=)([A-Za-z0-9+/]{32,128}={0,2})/g,
    replace: (m, [label]) => `${label}${m}`,
  },
  { kind: "anthropic-key", pattern: /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,512}/g },
  {
    kind: "openai-key",
    pattern: /(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?([A-Za-z0-9_-]{20,512})/g,
    accept: ([body]) => looksLikeOpenAiKey(body ?? ""),
  },
  { kind: "aws-access-key-id", pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  {
    kind: "aws-secret-key",
    pattern: new RegExp(
      `((?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)(?:${SEP}|\\s{1,8}))([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
      "gi",
    ),
    replace: (m, [label]) => `${label}${m}`,
  },
  {
    kind: "github-token",
    pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
  },
  { kind: "slack-token", pattern: /(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,256}/g },
  // "AIza" is distinctive enough to stand after a separator (`id-AIza…`, `key_AIza…`).
  { kind: "google-api-key", pattern: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    kind: "url-password",
    // scheme://user:pass@host: the user name stays (it helps reading), the password goes.
    // Brackets are left out of the user part so an earlier [REDACTED:kind] marker is not re-read.
    pattern: /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@"'<>[\]]{1,256}:)([^\s@/"'<>]{1,256})(@)/gi,
    replace: (m, [prefix, , at]) => `${prefix}${m}${at}`,
    accept: ([, password]) => !isPlaceholder(password ?? ""),
  },
  {
    kind: "authorization-header",
    pattern: new RegExp(
      String.raw`(\b(?:proxy-)?authorization${SEP})(?:(Bearer|Basic|Token|Digest)(\s{1,8}))?([^\s"'\\,;]{8,4096})`,
      "gi",
    ),
    replace: (m, [label, scheme, space]) => `${label}${scheme ? `${scheme}${space}` : ""}${m}`,
    accept: ([, scheme, , credential]) =>
      !isPlaceholder(credential ?? "") && (Boolean(scheme) || looksLikeCredential(credential ?? "")),
  },
  {
    kind: "bearer-token",
    pattern: /(\bBearer\s{1,8})([A-Za-z0-9\-._~+/]{8,4096}={0,2})/g,
    replace: (m, [prefix]) => `${prefix}${m}`,
    accept: ([, token]) => looksLikeCredential(token ?? ""),
  },
  {
    // .env style: DB_PASS=…, SMTP_PWD=…; and, when the value looks random, PAYMENTS_KEY=…, API_AUTH=…
    kind: "env-secret",
    pattern:
      /(?<![A-Za-z0-9_])([A-Za-z0-9]{1,32}(?:_[A-Za-z0-9]{1,32}){0,6}_(PASS|PWD|PASSWORD|PASSWD|SECRET|TOKEN|KEY|KEY_BASE|AUTH|CRED|CREDS|CREDENTIALS))([ \t]{0,4}[:=](?!=)[ \t]{0,4}["']?)([^\s"'\\}]{4,4096})/gi,
    replace: (m, [key, , separator]) => `${key}${separator}${m}`,
    accept: ([, suffix, , value]) => {
      const v = value ?? "";
      if (isPlaceholder(v) || v.startsWith("[REDACTED:")) return false;
      if (looksLikeCode(v, "")) return false;
      return /^(?:PASS|PWD|PASSWORD|PASSWD|SECRET|TOKEN)$/i.test(suffix ?? "") ? true : looksRandom(v);
    },
  },
  {
    kind: "secret-assignment",
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,64}?(?:${SECRET_KEY_WORDS}))(${SEP})([^\s"'\\,;&}<>]{1,4096})`,
      "gi",
    ),
    replace: (m, [key, separator]) => `${key}${separator}${m}`,
    accept: ([key, , value]) => !isPlaceholder(value ?? "") && !looksLikeCode(value ?? "", key ?? ""),
  },
  {
    // curl -u user:pass (the user stays)
    kind: "password",
    pattern: /((?:^|\s)(?:-u|--user)\s{1,4}["']?[^\s:'"]{1,128}:)([^\s'"]{3,512})/g,
    replace: (m, [prefix]) => `${prefix}${m}`,
    accept: ([, password]) => !isPlaceholder(password ?? "") && !(password ?? "").startsWith("[REDACTED:"),
  },
  {
    // mysql -pSECRET, sshpass -p 'SECRET', --password SECRET / --password=SECRET
    kind: "password",
    pattern:
      /((?:\b(?:mysql|mysqldump|mariadb|mysqladmin)\b[^\n]{0,200}?\s-p|\bsshpass\s{1,4}-p\s{0,4}|(?:^|\s)--pass(?:word)?(?:=|\s{1,4}))["']?)([^\s'"-][^\s'"]{2,512})/g,
    replace: (m, [prefix]) => `${prefix}${m}`,
    accept: ([, password]) => !isPlaceholder(password ?? "") && !(password ?? "").startsWith("[REDACTED:"),
  },
  {
    // A Cookie / Set-Cookie header: its value is a session.
    kind: "cookie",
    pattern: /(\b(?:set-)?cookie[ \t]{0,4}:[ \t]{0,4})([^\r\n"]{8,4096})/gi,
    replace: (m, [prefix]) => `${prefix}${m}`,
    accept: ([, value]) => !isPlaceholder(value ?? "") && !(value ?? "").startsWith("[REDACTED:"),
  },
  {
    // The key of a Sentry DSN (https://<key>@o1.ingest.sentry.io/2).
    kind: "sentry-dsn-key",
    pattern: /(https?:\/\/)([0-9a-f]{32})(@[a-z0-9.-]{0,128}sentry\.io)/gi,
    replace: (m, [scheme, , host]) => `${scheme}${m}${host}`,
  },
  {
    // The signature of an Azure shared access signature URL.
    kind: "azure-sas-signature",
    pattern: /([?&]sig=)([A-Za-z0-9%+/=]{16,512})/g,
    replace: (m, [prefix]) => `${prefix}${m}`,
  },
];

function redactText(text: string, tally: Tally): string {
  let out = text;
  for (const rule of TEXT_RULES) {
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      // The replacer gets (match, ...groups, offset, input): no rule uses named groups.
      const groups = rest.slice(0, -2).map((g) => (typeof g === "string" ? g : "")) as string[];
      if (rule.accept && !rule.accept(groups)) return match;
      const kind =
        rule.kind === "secret-assignment"
          ? assignmentKind(groups[0] ?? "")
          : rule.kind === "env-secret" && /^(?:PASS|PWD|PASSWORD|PASSWD)$/i.test(groups[1] ?? "")
            ? "password"
            : rule.kind === "env-secret" && /^(?:SECRET|TOKEN)$/i.test(groups[1] ?? "")
              ? "secret-assignment"
              : rule.kind;
      bump(tally, kind);
      return rule.replace ? rule.replace(marker(kind), groups) : marker(kind);
    });
  }
  return out;
}

function bump(tally: Tally, kind: string): void {
  tally.set(kind, (tally.get(kind) ?? 0) + 1);
}

const ONLY_MARKER = /^\[REDACTED:[a-z-]+\]$/;

function labelsSecret(key: string): boolean {
  return AUTHORIZATION_KEY.test(key) || SECRET_KEY.test(key) || SECRET_HEADER.test(key);
}

/**
 * A JSON member whose key labels a secret (`{"password": "..."}`): the whole value goes,
 * whatever it looks like. A value that is one known token keeps its provider kind.
 */
function redactLabelledValue(key: string, value: string, tally: Tally): string {
  const scratch: Tally = new Map();
  const byShape = redactText(value, scratch);
  if (ONLY_MARKER.test(byShape)) {
    for (const [kind, n] of scratch) tally.set(kind, (tally.get(kind) ?? 0) + n);
    return byShape;
  }
  if (AUTHORIZATION_KEY.test(key)) {
    const scheme = AUTH_SCHEME.exec(value);
    if (isPlaceholder(value) || (scheme && isPlaceholder(scheme[3] ?? ""))) return value;
    bump(tally, "authorization-header");
    return scheme ? `${scheme[1]}${scheme[2]}${marker("authorization-header")}` : marker("authorization-header");
  }
  if (isPlaceholder(value)) return value;
  const kind = assignmentKind(key);
  bump(tally, kind);
  return marker(kind);
}

function walk(value: unknown, tally: Tally): unknown {
  if (typeof value === "string") return redactText(value, tally);
  if (Array.isArray(value)) return value.map((v) => walk(v, tally));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    // A header or parameter as a {name, value} pair (HAR, Postman, many HTTP tools): the name labels the value.
    const record = value as Record<string, unknown>;
    const pairName = [record.name, record.key, record.header].find((n): n is string => typeof n === "string");
    const pairLabelsSecret = pairName !== undefined && typeof record.value === "string" && labelsSecret(pairName);
    for (const [rawKey, v] of Object.entries(value)) {
      // A key can carry a secret too ({"sk-proj-…": 1}); a redacted key keeps its value.
      const key = redactText(rawKey, tally);
      if (pairLabelsSecret && rawKey === "value" && typeof v === "string") {
        out[key] = redactLabelledValue(AUTHORIZATION_KEY.test(pairName as string) ? (pairName as string) : "api_key", v, tally);
        continue;
      }
      out[key] = typeof v === "string" && labelsSecret(key) ? redactLabelledValue(key, v, tally) : walk(v, tally);
    }
    return out;
  }
  return value;
}

/**
 * Replace every secret found in the strings of a JSON value, object keys included.
 * Pure: the input is not modified; `count` is the total number of replacements and
 * `kinds` counts them per kind.
 */
export function redactSecrets<T>(value: T): RedactionResult<T> {
  const tally: Tally = new Map();
  const redacted = walk(value, tally) as T;
  const kinds = Object.fromEntries([...tally.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const count = [...tally.values()].reduce((a, b) => a + b, 0);
  return { value: redacted, count, kinds };
}
