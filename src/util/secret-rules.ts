/**
 * Token shapes of known providers, as data: one row per kind, a prefix and body that the
 * provider documents (or that its keys visibly share), bounded so a scan stays linear. Rows are
 * tried in order, before the label-based rules of redact.ts, and a match is replaced whole by
 * `[REDACTED:<kind>]`. Adding a provider is adding a row here and a case to
 * tests/unit/redact-kinds.test.ts.
 *
 * We looked for a maintained rule set to take as a dependency: secretlint's recommended preset
 * (the version that runs on Node 20) found 2 of 11 kinds of a user's report, and gitleaks' rules
 * are Go RE2 patterns (inline flags JavaScript cannot run) in a project whose code we do not copy.
 * The shapes below follow the providers' documented formats.
 */

export interface TokenShape {
  kind: string;
  /** Global; bounded repeats; a left boundary so a token inside a longer word is not cut. */
  pattern: RegExp;
}

const B = String.raw`(?<![A-Za-z0-9_])`;
const E = String.raw`(?![A-Za-z0-9_])`;
const shape = (kind: string, body: string, flags = "g"): TokenShape => ({ kind, pattern: new RegExp(`${B}${body}${E}`, flags) });

export const TOKEN_SHAPES: readonly TokenShape[] = [
  shape("stripe-key", String.raw`(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}`),
  shape("stripe-webhook-secret", String.raw`whsec_[A-Za-z0-9+/]{32,128}`),
  shape("gitlab-token", String.raw`gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|cbt|soat)-[A-Za-z0-9_-]{20,128}`),
  shape("huggingface-token", String.raw`hf_[A-Za-z0-9]{30,64}`),
  shape("sendgrid-key", String.raw`SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}`),
  shape("npm-token", String.raw`npm_[A-Za-z0-9]{36}`),
  shape("mailgun-key", String.raw`key-[0-9a-f]{32}`),
  shape("digitalocean-token", String.raw`do[por]_v1_[0-9a-f]{64}`),
  shape("shopify-token", String.raw`shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}`),
  shape("pypi-token", String.raw`pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,512}`),
  shape("docker-hub-token", String.raw`dckr_pat_[A-Za-z0-9_-]{27,64}`),
  shape("databricks-token", String.raw`dapi[0-9a-f]{32}(?:-\d)?`),
  // Also inside a bot URL: api.telegram.org/bot<token>/sendMessage.
  { kind: "telegram-bot-token", pattern: /(?<![0-9])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g },
  shape("twilio-api-key", String.raw`SK[0-9a-f]{32}`),
  shape("groq-key", String.raw`gsk_[A-Za-z0-9]{48,64}`),
  shape("replicate-token", String.raw`r8_[A-Za-z0-9]{37}`),
  shape("vault-token", String.raw`hv[sbr]\.[A-Za-z0-9_-]{24,256}`),
  shape("age-secret-key", String.raw`AGE-SECRET-KEY-1[A-Z0-9]{58}`),
  shape("linear-key", String.raw`lin_(?:api|oauth)_[A-Za-z0-9]{40}`),
  shape("new-relic-key", String.raw`NR(?:AK|II|JS)-[A-Za-z0-9]{27}`),
  shape("openrouter-key", String.raw`sk-or-v1-[0-9a-f]{64}`),
  shape("notion-token", String.raw`(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{46})`),
  shape("atlassian-token", String.raw`ATATT3[A-Za-z0-9_=-]{150,256}`),
  shape("grafana-token", String.raw`(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[0-9a-f]{8})`),
  shape("sentry-token", String.raw`sntr[ysu]_[A-Za-z0-9+/=_]{40,256}`),
  shape("postman-key", String.raw`PMAK-[0-9a-f]{24}-[0-9a-f]{34}`),
  shape("heroku-key", String.raw`HRKU-[A-Za-z0-9_-]{60}`),
  // A JSON Web Token: three base64url parts, the first two JSON objects ("eyJ" = `{"`).
  shape("jwt", String.raw`eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{16,2048}`),
];
