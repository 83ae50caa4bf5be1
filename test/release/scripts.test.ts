// The project's shell scripts (scripts/*.sh and .ci/run) pass ShellCheck, following what they source (-x).
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { it } from "node:test";
import { CommandError, repoRoot, runCommand } from "../support/command.js";

it("scripts/*.sh and .ci/run have no ShellCheck findings", async () => {
  await runCommand("shellcheck", ["--version"]).catch(() => {
    assert.fail("shellcheck is not installed: run scripts/install-system-packages.sh");
  });
  const scripts = (await readdir(`${repoRoot}scripts`))
    .filter((file) => file.endsWith(".sh"))
    .sort()
    .map((file) => `scripts/${file}`);
  assert.ok(
    scripts.includes("scripts/build-image.sh"),
    `scripts/ holds no build-image.sh (${scripts.join(", ")})`,
  );
  // From the repository's root: the scripts' `# shellcheck source=scripts/...` paths are relative to it.
  const check = `cd "${repoRoot}" && exec shellcheck -x --format=gcc "$@"`;
  try {
    await runCommand("bash", ["-c", check, "shellcheck", ...scripts, ".ci/run"]);
  } catch (error) {
    if (error instanceof CommandError)
      assert.fail(`ShellCheck found problems:\n${error.stdout}${error.stderr}`);
    throw error;
  }
});
