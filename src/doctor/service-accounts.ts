// Check 4: every ServiceAccount's role-arn is an IAM role ARN, and no annotation key is a near miss the webhook ignores.

import {
  type AnnotationVocabulary,
  annotationNames,
  annotationVocabulary,
  matchAnnotationKey,
} from "../identity/annotations.js";
import { quoted } from "../identity/quote.js";
import { isIamRoleArn } from "../identity/role-arn.js";
import type { DoctorApi, ServiceAccountInfo } from "./api.js";
import { apiFailureFix, type Check, errorMessage, fail, pass } from "./check.js";

/** At most this many ServiceAccounts get a line of their own. */
const maxServiceAccountLines = 20;

export interface ServiceAccountScope {
  readonly annotationPrefix: string;
  /** Only these namespaces; all when undefined. */
  readonly namespaces: readonly string[] | undefined;
}

/** What is wrong with one ServiceAccount: one entry per problem, each with its fix. */
interface ServiceAccountProblems {
  readonly problems: readonly string[];
  readonly fixes: readonly string[];
}

/** Reads every ServiceAccount in scope: a summary line, then one line per ServiceAccount with problems. */
export async function checkServiceAccounts(api: DoctorApi, scope: ServiceAccountScope): Promise<Check[]> {
  const vocabulary = annotationVocabulary(scope.annotationPrefix);
  const where = scope.namespaces === undefined ? "" : ` in ${scope.namespaces.join(", ")}`;
  const lines: Check[] = [];
  let read = 0;
  let withRole = 0;
  let withProblems = 0;
  try {
    for await (const serviceAccount of api.serviceAccounts(scope.namespaces)) {
      read++;
      if ((serviceAccount.annotations[vocabulary.keys.roleArn]?.trim() ?? "") !== "") withRole++;
      const found = serviceAccountProblems(serviceAccount, vocabulary);
      if (found === undefined) continue;
      withProblems++;
      if (lines.length < maxServiceAccountLines) {
        lines.push(
          fail(
            `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}: ${found.problems.join("; ")}`,
            found.fixes.join("; "),
          ),
        );
      }
    }
  } catch (error) {
    const permission =
      scope.namespaces === undefined ? "list serviceaccounts --all-namespaces" : "list serviceaccounts";
    return [
      fail(
        `cannot list ServiceAccounts${where} (after ${read}): ${errorMessage(error)}`,
        `${apiFailureFix(error, permission)}; or limit the check with --namespace-limit`,
      ),
    ];
  }
  const counted = `ServiceAccounts${where}: ${read} read, ${withRole} with ${vocabulary.keys.roleArn}`;
  if (withProblems === 0) {
    return [pass(`${counted}, every role an IAM role ARN, no misspelled annotation key`)];
  }
  const summary = fail(
    `${counted}, ${withProblems} with annotation problems`,
    "correct each ServiceAccount below; pods get the change when they are created again",
  );
  const rest = withProblems - lines.length;
  return rest === 0
    ? [summary, ...lines]
    : [
        summary,
        ...lines,
        fail(
          `and ${rest} more ServiceAccount${rest === 1 ? "" : "s"} with annotation problems`,
          "run doctor with --namespace-limit NAMESPACE to see them namespace by namespace",
        ),
      ];
}

/** The problems the webhook would warn about on pods of this ServiceAccount, or undefined when there are none. */
function serviceAccountProblems(
  serviceAccount: ServiceAccountInfo,
  vocabulary: AnnotationVocabulary,
): ServiceAccountProblems | undefined {
  const problems: string[] = [];
  const fixes: string[] = [];
  const annotate = `kubectl -n ${serviceAccount.namespace} annotate serviceaccount ${serviceAccount.name}`;
  const { annotations } = serviceAccount;
  const roleArnKey = vocabulary.keys.roleArn;
  const roleArn = annotations[roleArnKey]?.trim() ?? "";
  if (roleArn !== "" && !isIamRoleArn(roleArn)) {
    problems.push(`${roleArnKey} ${quoted(roleArn)} is not an IAM role ARN`);
    fixes.push(`${annotate} --overwrite ${roleArnKey}=arn:aws:iam::<12-digit account>:role/<name>`);
  }
  for (const key of Object.keys(annotations)) {
    const match = matchAnnotationKey(key, vocabulary);
    if (match === undefined) continue;
    if (match.name === annotationNames.skipContainers) {
      problems.push(`${quoted(key)} is read only on pods`);
      fixes.push(`move ${key} to the pod template's annotations (${annotate} ${key}-)`);
      continue;
    }
    // Another tool's role-arn next to ours is not ours to judge; the webhook is silent about it too.
    if (match.kind === "exact" || (match.foreignPrefix && roleArn !== "")) continue;
    const intended = `${vocabulary.prefix}/${match.name}`;
    problems.push(`annotation ${quoted(key)} is not read (did you mean ${intended}?)`);
    fixes.push(
      annotations[intended] === undefined
        ? `${annotate} ${key}- ${intended}=${shellWord(annotations[key] ?? "")}`
        : `${annotate} ${key}-`,
    );
  }
  return problems.length === 0 ? undefined : { problems, fixes };
}

/** The value as one shell word: as is when it is plainly safe, else in single quotes. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
