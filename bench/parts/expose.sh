# SPDX-License-Identifier: Apache-2.0
# expose / create: building the Service locally (--dry-run=client -o yaml), and
# a real create of it followed by a delete. kx has no delete command, so both
# sides delete with the same kubectl call: the difference is the create.
row "\`expose deploy web --type=NodePort --dry-run=client -o yaml\`" ms \
	"$(median_ms "$KX" expose deploy web --type=NodePort --dry-run=client -o yaml)" \
	"$(median_ms "$KUBECTL" expose deploy web --type=NodePort --dry-run=client -o yaml)"
row "\`create ingress --rule=… --dry-run=client -o yaml\`" ms \
	"$(median_ms "$KX" create ingress bench-ing --rule='a.com/x*=web:80,tls=c' --dry-run=client -o yaml)" \
	"$(median_ms "$KUBECTL" create ingress bench-ing --rule='a.com/x*=web:80,tls=c' --dry-run=client -o yaml)"
row "\`expose deploy web --name=bench-exp\` then \`kubectl delete svc bench-exp\`" ms \
	"$(median_ms sh -c "\"$KX\" expose deploy web --name=bench-exp >/dev/null && \"$KUBECTL\" delete svc bench-exp >/dev/null")" \
	"$(median_ms sh -c "\"$KUBECTL\" expose deploy web --name=bench-exp >/dev/null && \"$KUBECTL\" delete svc bench-exp >/dev/null")"
