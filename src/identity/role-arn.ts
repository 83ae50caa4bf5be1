// What an IAM role ARN looks like, in every AWS partition (aws, aws-cn, aws-us-gov, aws-iso*, ...).

// arn:<partition>:iam::<account>:role<path><name>: IAM's path is "/" or "/.../" (printable ASCII, at most
// 512 characters) and its role name at most 64 of [\w+=,.@-]. Anchored, and no character class admits a
// newline, so no value with a second line is a role ARN.
const iamRoleArnPattern = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role(\/(?:[!-~]+\/)?)([\w+=,.@-]+)$/;
const maxPathLength = 512;
const maxNameLength = 64;

/** Why `value` is not `arn:<partition>:iam::<12-digit account>:role/<optional path/>name`, or undefined when it is. */
export function roleArnProblem(value: string): string | undefined {
  const match = iamRoleArnPattern.exec(value);
  if (match === null) return "is not an IAM role ARN";
  const [, path = "", name = ""] = match;
  if (name.length > maxNameLength) {
    return `has a role name of ${name.length} characters; IAM allows at most ${maxNameLength}`;
  }
  if (path.length > maxPathLength) {
    return `has a role path of ${path.length} characters; IAM allows at most ${maxPathLength}`;
  }
  return undefined;
}

/** True for `arn:<partition>:iam::<12-digit account>:role/<optional path/>name` within IAM's limits. */
export function isIamRoleArn(value: string): boolean {
  return roleArnProblem(value) === undefined;
}
