// Kubernetes label selector semantics, to ask of a rendered selector which labels it picks.

import type { LabelSelector, LabelSelectorRequirement } from "./kinds.js";

function holds(requirement: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
  }
}

/** Whether `selector` selects an object with `labels`; an empty selector selects everything. */
export function selects(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {}).every(
    ([key, value]) => labels[key] === value,
  );
  return matchLabels && (selector.matchExpressions ?? []).every((requirement) => holds(requirement, labels));
}
