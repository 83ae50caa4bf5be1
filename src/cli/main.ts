#!/usr/bin/env node
// Entry point of the `web-identity-webhook` binary: dispatches to one subcommand.

import { readFileSync } from "node:fs";
import { runDoctor } from "./doctor.js";
import { type CliIo, exitCode } from "./io.js";
import { runMutate } from "./mutate.js";
import { runOidc } from "./oidc.js";
import { runServe } from "./serve.js";
import { runTrustPolicy } from "./trust-policy.js";

const usage = `web-identity-webhook: gives Kubernetes pods AWS IAM roles through web identity (IRSA)

Usage: web-identity-webhook COMMAND [flags]

Commands:
  serve          run the mutating admission webhook (HTTPS)
  mutate         show the patch the webhook would make to a pod manifest
  oidc           generate, export and verify OIDC issuer documents for self-hosted clusters
  trust-policy   print the IAM trust policy for a ServiceAccount
  doctor         check a live cluster end to end: webhook, certificates, ServiceAccounts, issuer

Run "web-identity-webhook COMMAND --help" for a command's flags.
  --version      print the version
  --help         print this help`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return runServe(rest, io);
    case "mutate":
      return runMutate(rest, io);
    case "oidc":
      return runOidc([...rest], io);
    case "trust-policy":
      return runTrustPolicy([...rest], io);
    case "doctor":
      return runDoctor([...rest], io);
    case "--version":
    case "version":
      io.stdout.write(`web-identity-webhook ${version()}\n`);
      return exitCode.ok;
    case undefined:
    case "--help":
    case "-h":
    case "help":
      io.stdout.write(`${usage}\n`);
      return command === undefined ? exitCode.usage : exitCode.ok;
    default:
      io.stderr.write(`web-identity-webhook: unknown command ${JSON.stringify(command)}\n${usage}\n`);
      return exitCode.usage;
  }
}

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };
main(process.argv.slice(2), io).then(
  (code) => {
    // serve keeps the process alive itself and exits on SIGTERM; every other command ends here.
    if (code !== undefined && code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`web-identity-webhook: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCode.failed;
  },
);
