import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../src/util/redact.js";

/** Built at run time so the repository itself holds no secret-shaped literals. */
const openaiKey = "sk-" + "proj-" + "Ab3dEf5hIj7lMn9pQr1tUv3x" + "_" + "Yz5bCd7fGh9jKl1nOp3rSt5v";
const openaiLegacyKey = "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4";
const anthropicKey = "sk-" + "ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7";
const awsKeyId = "AKIA" + "Q3EGRJ5QSNZ7OXBT";
const awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY";
const githubToken = "ghp_" + "1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R";
const githubPat = "github_pat_" + "11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyz0123456789ABCDEF";
const slackToken = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
const slackWebhook = "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
const googleKey = "AIza" + "SyD4f5G6h7J8k9L0z1X2c3V4b5N6m7Q8w9E";
const pem = ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA7v1", "q2w3e4r5t6y7u8i9o0p", "-----END RSA PRIVATE KEY-----"].join("\n");
const sha = "3f2a9c0e5b7d1f4a6c8e0b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";

function redactText(text: string) {
  const r = redactSecrets(text);
  return { text: r.value, count: r.count, kinds: r.kinds };
}

describe("redactSecrets: provider keys", () => {
  it.each([
    ["openai-key", `export OPENAI_API_KEY=${openaiKey}`, openaiKey],
    ["openai-key", `key ${openaiLegacyKey} used`, openaiLegacyKey],
    ["anthropic-key", `x-api-key ${anthropicKey}`, anthropicKey],
    ["aws-access-key-id", `id=${awsKeyId};`, awsKeyId],
    ["github-token", `git clone https://${githubToken}@github.com/a/b`, githubToken],
    ["github-token", `GH ${githubPat}`, githubPat],
    ["slack-token", `slack ${slackToken}`, slackToken],
    ["slack-webhook", `curl -X POST ${slackWebhook}`, slackWebhook],
    ["google-api-key", `maps?key=${googleKey}&q=x`, googleKey],
  ])("redacts %s", (kind, text, secret) => {
    const r = redactText(text);
    expect(r.text).not.toContain(secret);
    expect(r.text).toContain(`[REDACTED:${kind}]`);
    expect(r.kinds[kind]).toBe(1);
    expect(r.count).toBe(1);
  });

  it("keeps a labelled AWS secret key's label and redacts the value", () => {
    const r = redactText(`aws_secret_access_key = ${awsSecret}\nAWS_SECRET_ACCESS_KEY: "${awsSecret}"`);
    expect(r.text).toBe(`aws_secret_access_key = [REDACTED:aws-secret-key]\nAWS_SECRET_ACCESS_KEY: "[REDACTED:aws-secret-key]"`);
    expect(r.kinds).toEqual({ "aws-secret-key": 2 });
  });

  it("leaves look-alikes alone", () => {
    for (const text of [
      "pip install sk-learn-tutorial-for-beginners-2024",
      "task-abcdefghijklmnopqrstuvwxyz0123456789",
      "AKIA is a prefix; AKIAshort is not a key",
      "ghp_tooShort",
      "xoxb-1",
      "AIza too short",
      `an unlabelled 40-char string ${awsSecret} is not enough`,
    ]) {
      expect(redactText(text)).toEqual({ text, count: 0, kinds: {} });
    }
  });
});

describe("redactSecrets: headers, key blocks, URLs, assignments", () => {
  it("redacts bearer tokens and Authorization headers, keeping the scheme", () => {
    expect(redactText("curl -H 'Authorization: Bearer abc123def456ghi789'").text).toBe(
      "curl -H 'Authorization: Bearer [REDACTED:authorization-header]'",
    );
    expect(redactText("Authorization: Basic dXNlcjpwYXNzd29yZA==").text).toBe(
      "Authorization: Basic [REDACTED:authorization-header]",
    );
    expect(redactText("sent with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig123").text).toBe(
      "sent with Bearer [REDACTED:bearer-token]",
    );
  });

  it("does not take prose about bearers or authorization for a token", () => {
    for (const text of ["Bearer authentication is used here", "Authorization: required", "the bearer of bad news"]) {
      expect(redactText(text).count).toBe(0);
    }
  });

  it("redacts a whole PEM private key block, and a truncated one", () => {
    const r = redactText(`key:\n${pem}\ndone`);
    expect(r.text).toBe("key:\n[REDACTED:private-key]\ndone");
    const cut = redactText("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIEvQIBADANBgkq\n(output truncated)");
    expect(cut.text).toBe("[REDACTED:private-key]\n(output truncated)");
    expect(redactText("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----").count).toBe(0);
  });

  it("redacts the password in a URL but keeps the user and host", () => {
    const r = redactText("DATABASE_URL=postgres://admin:hunter2@db.internal:5432/app");
    expect(r.text).toBe("DATABASE_URL=postgres://admin:[REDACTED:url-password]@db.internal:5432/app");
    expect(r.kinds).toEqual({ "url-password": 1 });
    expect(redactText("see http://localhost:8080/users/@me and https://example.com/a").count).toBe(0);
  });

  it("redacts generic password / api_key / secret / token assignments in text and JSON text", () => {
    const r = redactText(`password=hunter2 api_key: "abc123xyz" client_secret='s3cr3t' {"access_token": "tok-9f8e7d"}`);
    expect(r.text).toBe(
      `password=[REDACTED:password] api_key: "[REDACTED:secret-assignment]" client_secret='[REDACTED:secret-assignment]' {"access_token": "[REDACTED:secret-assignment]"}`,
    );
    expect(r.count).toBe(4);
    expect(r.kinds).toEqual({ password: 1, "secret-assignment": 3 });
  });

  it("ignores ordinary words, placeholders, numbers and content hashes", () => {
    for (const text of [
      "The secret to success is practice. Enter your password below.",
      "tokens used: 1234, max_tokens: 100, token_type: bearer",
      "password: ${DB_PASSWORD} and api_key=<your key> and token: ****",
      `trajectory ${sha} and sha256:${sha}`,
      "secretary: Bob",
    ]) {
      expect(redactText(text)).toEqual({ text, count: 0, kinds: {} });
    }
  });

  it("counts a provider key under a label once, by its provider kind", () => {
    const r = redactText(`OPENAI_API_KEY=${openaiKey}`);
    expect(r.text).toBe("OPENAI_API_KEY=[REDACTED:openai-key]");
    expect(r.kinds).toEqual({ "openai-key": 1 });
  });
});

describe("redactSecrets: JSON values", () => {
  it("walks nested objects and arrays, redacts labelled members, keeps keys and non-strings", () => {
    const input = {
      steps: [
        {
          toolCalls: [{ name: "login", arguments: { user: "ann", password: "hunter2", apiKey: "zz9-abc", retries: 3 } }],
        },
        { toolResult: { content: `{"token": "${githubToken}"}`, isError: false } },
        { headers: { Authorization: "Basic dXNlcjpwYXNz", "x-api-key": "${KEY}" } },
      ],
      note: [[`deep ${anthropicKey}`]],
    };
    const before = JSON.stringify(input);
    const r = redactSecrets(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(r.value).toEqual({
      steps: [
        {
          toolCalls: [
            {
              name: "login",
              arguments: { user: "ann", password: "[REDACTED:password]", apiKey: "[REDACTED:secret-assignment]", retries: 3 },
            },
          ],
        },
        { toolResult: { content: `{"token": "[REDACTED:github-token]"}`, isError: false } },
        { headers: { Authorization: "Basic [REDACTED:authorization-header]", "x-api-key": "${KEY}" } },
      ],
      note: [["deep [REDACTED:anthropic-key]"]],
    });
    expect(r.count).toBe(5);
    expect(r.kinds).toEqual({
      "anthropic-key": 1,
      "authorization-header": 1,
      "github-token": 1,
      password: 1,
      "secret-assignment": 1,
    });
  });

  it("replaces a labelled member's whole value, keeping the provider kind when it is one token", () => {
    const r = redactSecrets({ password: `hunter2 ${openaiKey}`, github_token: githubToken, secret: "<set me>" });
    expect(r.value).toEqual({ password: "[REDACTED:password]", github_token: "[REDACTED:github-token]", secret: "<set me>" });
    expect(r.kinds).toEqual({ password: 1, "github-token": 1 });
  });

  it("copes with multi-megabyte blobs without a stack overflow", () => {
    for (const unit of ["sk-", "xoxb-", "Authorization:Bearer", "QUJD"]) {
      const blob = unit.repeat(Math.ceil(6_500_000 / unit.length));
      expect(() => redactSecrets({ content: blob })).not.toThrow();
    }
  });

  it("returns clean values untouched with a zero count", () => {
    const input = { id: sha, text: "Booked flight HAT136 for user mia_li_3668.", n: 1, ok: true, none: null };
    expect(redactSecrets(input)).toEqual({ value: input, count: 0, kinds: {} });
  });
});
