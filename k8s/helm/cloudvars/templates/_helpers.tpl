{{/* Release-scoped base name, at most 63 characters (a DNS label). */}}
{{- define "cloudvars.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cloudvars.gatewayName" -}}
{{- printf "%s-gateway" (include "cloudvars.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ClusterIP Service of the gateways' metrics port (never the public one). */}}
{{- define "cloudvars.metricsServiceName" -}}
{{- printf "%s-metrics" (include "cloudvars.gatewayName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cloudvars.redisName" -}}
{{- printf "%s-redis" (include "cloudvars.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* True (non-empty) when the chart runs its own Redis. */}}
{{- define "cloudvars.internalRedis" -}}
{{- if not .Values.redis.external.url -}}true{{- end -}}
{{- end -}}

{{- define "cloudvars.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudvars
{{- end -}}

{{/* Selector labels; pass (dict "ctx" $ "component" "gateway"). */}}
{{- define "cloudvars.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
