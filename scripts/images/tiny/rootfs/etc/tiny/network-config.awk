# network-config v2 subset -> "net_if ID MAC DHCP4 ADDRS GATEWAY DNS NAMEGLOB" lines for /bin/tiny-net.
# Supported under ethernets.<id>: match.macaddress, match.name (a glob), dhcp4, addresses ([flow] or block list),
# gateway4, routes (to: default / 0.0.0.0/0 with via:), nameservers.addresses. Optional top-level network:.
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function unq(s) { s = trim(s); sub(/[ \t]+#.*$/, "", s); gsub(/^["']|["']$/, "", s); return s }
function ind(l) { match(l, /^ */); return RLENGTH }
function flow(s,   n, a, i, out) { s = trim(s); gsub(/^\[|\]$/, "", s); n = split(s, a, ","); out = ""
    for (i = 1; i <= n; i++) if (unq(a[i]) != "") out = out (out == "" ? "" : ",") unq(a[i]); return out }
function sq(s) { gsub(/'/, "'\\''", s); return "'" s "'" }
function flush() { if (id != "") print "net_if " sq(id) " " sq(mac) " " sq(dhcp) " " sq(addrs) " " sq(gw) " " sq(dns) " " sq(nameglob)
    id = ""; mac = ""; nameglob = ""; dhcp = ""; addrs = ""; gw = ""; dns = ""; list = ""; rto = ""; rvia = "" }
function route() { if (rto == "default" || rto == "0.0.0.0/0") gw = rvia; rto = ""; rvia = "" }
BEGIN { eth = -1; idind = -1 }
{
    line = $0; sub(/\r$/, "", line)
    if (line ~ /^[ \t]*(#|$)/) next
    i = ind(line); t = substr(line, i + 1)
    if (t ~ /^ethernets:/) { flush(); eth = i; idind = -1; next }
    if (eth < 0) next
    if (i <= eth) { flush(); eth = -1; next }
    if (idind < 0) idind = i
    if (i == idind) { route(); flush(); id = t; sub(/:.*/, "", id); id = unq(id); if (t ~ /dhcp4:[ \t]*(true|yes)/) dhcp = "true"; next }
    key = t; sub(/:.*/, "", key); val = t; sub(/^[^:]*:[ \t]*/, "", val)
    if (t ~ /^- /) {                                  # list item of the current list key
        item = substr(t, 3)
        if (list == "addresses") addrs = addrs (addrs == "" ? "" : ",") unq(item)
        else if (list == "dns") dns = dns (dns == "" ? "" : ",") unq(item)
        else if (list == "routes") { route(); if (item ~ /^to:/) { rto = unq(substr(item, 4)) } else if (item ~ /^via:/) { rvia = unq(substr(item, 5)) } }
        next
    }
    if (key == "macaddress") mac = unq(val)
    else if (key == "name") nameglob = unq(val)
    else if (key == "dhcp4") dhcp = (unq(val) ~ /^(true|yes|on)$/) ? "true" : "false"
    else if (key == "gateway4") gw = unq(val)
    else if (key == "to" && list == "routes") rto = unq(val)
    else if (key == "via" && list == "routes") rvia = unq(val)
    else if (key == "addresses" && inns && i > nsind) { if (val ~ /^\[/) dns = flow(val); else list = "dns"; next }
    else if (key == "addresses") { if (val ~ /^\[/) addrs = flow(val); else list = "addresses"; inns = 0; next }
    else if (key == "routes") { list = "routes"; next }
    else if (key == "nameservers") { inns = 1; nsind = i; if (val ~ /^\{/) { v = val; if (match(v, /addresses:[ \t]*\[[^]]*\]/)) { v = substr(v, RSTART, RLENGTH); sub(/^addresses:[ \t]*/, "", v); dns = flow(v) } } ; list = ""; next }
    if (key != "to" && key != "via") list = ""
    if (inns && i <= nsind) inns = 0
}
END { route(); flush() }
