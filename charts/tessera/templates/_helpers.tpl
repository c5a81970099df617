{{- define "tessera.labels" -}}
app.kubernetes.io/part-of: tessera
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "tessera.extenderURL" -}}
{{- if .Values.extender.tls.enabled -}}https{{- else -}}http{{- end -}}://tessera-extender.{{ .Release.Namespace }}.svc:{{ .Values.extender.port }}{{ .Values.extender.urlPrefix }}
{{- end -}}
