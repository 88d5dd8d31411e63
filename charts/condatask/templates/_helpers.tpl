{{/* Names, labels and shared values of the condatask chart. */}}

{{- define "condatask.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name. Suffixes of up to 16 characters (`-gittask-editor`) follow it, so
it is cut to 47 characters to keep every object name a valid DNS-1123 label.
*/}}
{{- define "condatask.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 47 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "condatask.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "condatask.labels" -}}
helm.sh/chart: {{ include "condatask.chart" . }}
app.kubernetes.io/name: {{ include "condatask.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: condatask
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include with (dict "root" $ "component" "operator"). */}}
{{- define "condatask.selectorLabels" -}}
app.kubernetes.io/name: {{ include "condatask.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "condatask.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "condatask.operator.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "condatask.fullname" .)) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "condatask.gateway.serviceAccountName" -}}
{{- default (printf "%s-gateway" (include "condatask.fullname" .)) .Values.gateway.serviceAccount.name }}
{{- end }}

{{/* Namespace of the GitTasks the gateway serves. */}}
{{- define "condatask.gateway.namespace" -}}
{{- default .Release.Namespace .Values.gateway.namespace }}
{{- end }}

{{- define "condatask.gittaskEditorName" -}}
{{- printf "%s-gittask-editor" (include "condatask.fullname" .) }}
{{- end }}

{{- define "condatask.environmentsClaim" -}}
{{- default (printf "%s-environments" (include "condatask.fullname" .)) .Values.environments.existingClaim }}
{{- end }}
