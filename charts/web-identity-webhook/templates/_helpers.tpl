{{/* Names, labels and derived settings shared by the chart's templates. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "web-identity-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-<chart>" (or just the release when it already holds the chart name), at most 63 characters. */}}
{{- define "web-identity-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "web-identity-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "web-identity-webhook.labels" -}}
helm.sh/chart: {{ include "web-identity-webhook.chart" . }}
{{ include "web-identity-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: web-identity-webhook
{{- end }}

{{/* Labels that select the webhook pods; never change them in an upgrade (Deployment selectors are immutable). */}}
{{- define "web-identity-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "web-identity-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of the helm test pod: the chart's labels without app.kubernetes.io/name, so no selector of the
Deployment, Service, PodDisruptionBudget or NetworkPolicy (name and instance) ever counts it as a webhook
pod, plus the skip label that keeps it away from the webhook.
*/}}
{{- define "web-identity-webhook.testLabels" -}}
helm.sh/chart: {{ include "web-identity-webhook.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: web-identity-webhook
{{ include "web-identity-webhook.skipLabelKey" . }}: "true"
{{- end }}

{{/* The reference webhook's escape hatch: a pod with this label (any value) is never sent to the webhook. */}}
{{- define "web-identity-webhook.skipLabelKey" -}}
eks.amazonaws.com/skip-pod-identity-webhook
{{- end }}

{{/*
Namespaces never sent to the webhook, as a JSON list: excludeNamespaces, plus the release namespace when
excludeReleaseNamespace is set. Read it with `include ... | fromJsonArray`.
*/}}
{{- define "web-identity-webhook.excludedNamespaces" -}}
{{- $excluded := .Values.webhook.namespaceSelector.excludeNamespaces | default list }}
{{- if .Values.webhook.namespaceSelector.excludeReleaseNamespace }}
{{- $excluded = append $excluded .Release.Namespace }}
{{- end }}
{{- $excluded | uniq | toJson }}
{{- end }}

{{- define "web-identity-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "web-identity-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The MutatingWebhookConfiguration (cluster-scoped) and the name of its one webhook. */}}
{{- define "web-identity-webhook.webhookConfigName" -}}
{{- include "web-identity-webhook.fullname" . }}
{{- end }}

{{- define "web-identity-webhook.webhookName" -}}
pod-identity.web-identity-webhook.io
{{- end }}

{{/* The Secret holding the serving certificate, per certificate mode. */}}
{{- define "web-identity-webhook.tlsSecretName" -}}
{{- $mode := .Values.certificates.mode }}
{{- if eq $mode "secret" }}
{{- required "certificates.secret.name is required when certificates.mode is secret: name an existing kubernetes.io/tls Secret in the release namespace" .Values.certificates.secret.name }}
{{- else if eq $mode "self-managed" }}
{{- default (printf "%s-tls" (include "web-identity-webhook.fullname" .)) .Values.certificates.selfManaged.secretName }}
{{- else }}
{{- printf "%s-tls" (include "web-identity-webhook.fullname" .) }}
{{- end }}
{{- end }}

{{/* Where the serving certificate is mounted in file-based modes (cert-manager, secret). */}}
{{- define "web-identity-webhook.tlsDir" -}}
/etc/web-identity-webhook/tls
{{- end }}

{{/* The --role-policy-file document rendered from rolePolicy, and where the webhook reads it. */}}
{{- define "web-identity-webhook.rolePolicyDocument" -}}
{{- dict "namespaces" .Values.rolePolicy | toYaml }}
{{- end }}

{{- define "web-identity-webhook.rolePolicyDir" -}}
/etc/web-identity-webhook/role-policy
{{- end }}

{{/* The image reference: registry/repository, then @digest if set, else :tag (default: appVersion). */}}
{{- define "web-identity-webhook.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* failurePolicy: the value if set, else Fail in opt-in mode (an opted-in pod must not start without credentials), else Ignore. */}}
{{- define "web-identity-webhook.failurePolicy" -}}
{{- if .Values.webhook.failurePolicy }}
{{- .Values.webhook.failurePolicy }}
{{- else if .Values.webhook.optIn.enabled }}
{{- "Fail" }}
{{- else }}
{{- "Ignore" }}
{{- end }}
{{- end }}

{{/* Seconds Kubernetes waits after SIGTERM: the webhook's shutdown delay plus timeout, rounded up, plus 10 s for the process to exit. */}}
{{- define "web-identity-webhook.terminationGracePeriodSeconds" -}}
{{- add (div (add (int .Values.config.shutdownDelay) (int .Values.config.shutdownTimeout) 999) 1000) 10 }}
{{- end }}

{{/* Checks of values that the schema cannot express; each fails the render with what to change. */}}
{{- define "web-identity-webhook.validate" -}}
{{- $mode := .Values.certificates.mode }}
{{- if eq $mode "secret" }}
{{- if not .Values.certificates.secret.name }}
{{- fail "certificates.secret.name is required when certificates.mode is secret: name an existing kubernetes.io/tls Secret in the release namespace" }}
{{- end }}
{{- if not .Values.certificates.secret.caBundle }}
{{- fail "certificates.secret.caBundle is required when certificates.mode is secret: set it to the base64 of the PEM CA that signed the Secret's certificate (e.g. base64 -w0 ca.crt)" }}
{{- end }}
{{- end }}
{{- if and (eq $mode "self-managed") (ge (int .Values.certificates.selfManaged.renewBeforeDays) (int .Values.certificates.selfManaged.validityDays)) }}
{{- fail (printf "certificates.selfManaged.renewBeforeDays (%d) must be less than certificates.selfManaged.validityDays (%d)" (int .Values.certificates.selfManaged.renewBeforeDays) (int .Values.certificates.selfManaged.validityDays)) }}
{{- end }}
{{- if ge (int .Values.config.lookupTimeout) (mul (int .Values.webhook.timeoutSeconds) 1000 | int) }}
{{- fail (printf "config.lookupTimeout (%d ms) must be less than webhook.timeoutSeconds (%d s): the API server would give up before the webhook answers" (int .Values.config.lookupTimeout) (int .Values.webhook.timeoutSeconds)) }}
{{- end }}
{{- if and (eq (include "web-identity-webhook.failurePolicy" .) "Fail") (not .Values.webhook.namespaceSelector.excludeReleaseNamespace) }}
{{- fail (printf "webhook.namespaceSelector.excludeReleaseNamespace=false needs failurePolicy Ignore, but it is Fail%s: a webhook outage must never refuse a pod in the webhook's own namespace %s (its replacements, the helm test pod, whatever runs beside it). Keep excludeReleaseNamespace true, or set webhook.failurePolicy=Ignore" (ternary " (the opt-in mode default)" "" (and .Values.webhook.optIn.enabled (not .Values.webhook.failurePolicy))) .Release.Namespace) }}
{{- end }}
{{- $chartLabels := include "web-identity-webhook.labels" . | fromYaml }}
{{- range $key, $_ := .Values.podLabels }}
{{- if hasKey $chartLabels $key }}
{{- fail (printf "podLabels.%s is a label the chart sets on its pods itself (app.kubernetes.io/name also keeps them out of the webhook's way); remove it from podLabels (nameOverride renames the chart)" $key) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (eq (int .Values.config.metricsPort) 0) }}
{{- fail "metrics.serviceMonitor.enabled needs a metrics port: config.metricsPort is 0" }}
{{- end }}
{{- if eq (int .Values.config.port) (int .Values.config.metricsPort) }}
{{- fail (printf "config.port and config.metricsPort are both %d; give them different ports" (int .Values.config.port)) }}
{{- end }}
{{- if .Values.hostNetwork }}
{{- $taken := include "web-identity-webhook.nodePorts" . | fromYaml }}
{{- range $key := list "port" "metricsPort" }}
{{- $port := index $.Values.config $key | int }}
{{- with index $taken (toString $port) }}
{{- fail (printf "config.%s is %d, which with hostNetwork=true is a port of the node itself, and %d belongs to %s there; pick a free node port, e.g. config.port=10270 and config.metricsPort=10271 (see the chart README, Host network)" $key $port $port .) }}
{{- end }}
{{- end }}
{{- end }}
{{- $chartVolumes := list "tmp" "tls" "role-policy" }}
{{- range .Values.extraVolumes }}
{{- if has .name $chartVolumes }}
{{- fail (printf "extraVolumes: the name %q is a volume of the chart's own (%s); give your volume another name" .name (join ", " $chartVolumes)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Ports of the node's own components that a hostNetwork webhook must not bind, as YAML: port -> owner. */}}
{{- define "web-identity-webhook.nodePorts" -}}
"10248": the kubelet's healthz
"10249": kube-proxy's metrics
"10250": the kubelet's API
"10255": the kubelet's read-only API
"10256": kube-proxy's healthz
{{- end }}

{{/* dnsPolicy: the value if set, else ClusterFirstWithHostNet on the host network (so cluster names still resolve), else none (Kubernetes' ClusterFirst). */}}
{{- define "web-identity-webhook.dnsPolicy" -}}
{{- if .Values.dnsPolicy }}
{{- .Values.dnsPolicy }}
{{- else if .Values.hostNetwork }}
{{- "ClusterFirstWithHostNet" }}
{{- end }}
{{- end }}

{{/* The namespace of the reference's pod-identity-webhook ConfigMap (--namespace): the release's unless set. */}}
{{- define "web-identity-webhook.configMapNamespace" -}}
{{- default .Release.Namespace .Values.config.configMapNamespace -}}
{{- end }}
