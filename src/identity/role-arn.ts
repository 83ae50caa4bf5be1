// What an IAM role ARN looks like, in every AWS partition (aws, aws-cn, aws-us-gov, aws-iso*, ...).

const iamRoleArnPattern = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** True for `arn:<partition>:iam::<12-digit account>:role/<optional path/>name`. */
export function isIamRoleArn(value: string): boolean {
  return iamRoleArnPattern.test(value);
}
