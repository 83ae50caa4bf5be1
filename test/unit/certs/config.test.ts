import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { certificateConfigFrom } from "../../../src/certs/config.js";
import { certificateFlags } from "../../../src/certs/flags.js";
import { ConfigError, parseFlags } from "../../../src/config/parse.js";

function configFor(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return certificateConfigFrom(parseFlags(certificateFlags, argv, env).values, env);
}

const selfManaged = [
  "--cert-mode",
  "self-managed",
  "--cert-secret-name",
  "wiw-tls",
  "--webhook-config-name",
  "wiw",
  "--service-name",
  "wiw",
];

describe("certificateConfigFrom", () => {
  it("defaults to the file mode", () => {
    assert.deepEqual(configFor([]), { mode: "file" });
  });

  it("takes the namespaces from POD_NAMESPACE when their flags are unset", () => {
    assert.deepEqual(configFor(selfManaged, { POD_NAMESPACE: "identity" }), {
      mode: "self-managed",
      secretName: "wiw-tls",
      secretNamespace: "identity",
      webhookConfigName: "wiw",
      serviceName: "wiw",
      serviceNamespace: "identity",
      validityDays: 365,
      renewBeforeDays: 30,
    });
  });

  it("prefers the namespace flags over POD_NAMESPACE", () => {
    const config = configFor(
      [...selfManaged, "--cert-secret-namespace", "certs", "--service-namespace", "web"],
      {
        POD_NAMESPACE: "identity",
      },
    );
    assert.equal(
      config.mode === "self-managed" && `${config.secretNamespace} ${config.serviceNamespace}`,
      "certs web",
    );
  });

  const errors: { name: string; argv: string[]; env?: NodeJS.ProcessEnv; message: string }[] = [
    {
      name: "requires a namespace when POD_NAMESPACE is not set",
      argv: selfManaged,
      message: "--cert-secret-namespace is required in self-managed mode when POD_NAMESPACE is not set",
    },
    {
      name: "requires the Secret's name",
      argv: ["--cert-mode", "self-managed", "--webhook-config-name", "wiw", "--service-name", "wiw"],
      env: { POD_NAMESPACE: "identity" },
      message: "--cert-secret-name is required in self-managed mode",
    },
    {
      name: "rejects a Service name that is not a DNS label",
      argv: [...selfManaged, "--service-name", "Web_Hook"],
      env: { POD_NAMESPACE: "identity" },
      message: `--service-name: "Web_Hook" is not a DNS label (lower-case letters, digits, '-')`,
    },
    {
      name: "rejects a renewal window as long as the validity",
      argv: [...selfManaged, "--cert-validity-days", "30"],
      env: { POD_NAMESPACE: "identity" },
      message:
        "--cert-renew-before-days: 30 must be less than --cert-validity-days (30), or every certificate would be renewed as soon as it is issued",
    },
  ];
  for (const c of errors) {
    it(c.name, () => {
      assert.throws(() => configFor(c.argv, c.env), new ConfigError(c.message));
    });
  }

  it("rejects a validity outside 1..3650 days", () => {
    assert.throws(
      () => configFor([...selfManaged, "--cert-validity-days", "4000"]),
      /--cert-validity-days: 4000 is out of range \(1..3650\)/,
    );
  });
});
