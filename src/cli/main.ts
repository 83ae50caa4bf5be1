#!/usr/bin/env node
// Entry point of the `web-identity-webhook` binary: dispatches to one subcommand.

import { readFileSync } from "node:fs";
import { type CliIo, exitCode } from "./io.js";

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

// Each command is imported when it runs: `serve` would otherwise carry the other commands' libraries (jose,
// and their modules) for its whole life; loading them all measured about 7 MiB more resident memory.
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return (await import("./serve.js")).runServe(rest, io);
    case "mutate":
      return (await import("./mutate.js")).runMutate(rest, io);
    case "oidc":
      return (await import("./oidc.js")).runOidc([...rest], io);
    case "trust-policy":
      return (await import("./trust-policy.js")).runTrustPolicy([...rest], io);
    case "doctor":
      return (await import("./doctor.js")).runDoctor([...rest], io);
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
