# #cloud-config (YAML subset) -> shell commands for /bin/tiny-cloudinit.
# Supported: hostname, fqdn, ssh_authorized_keys (top level), users[] (name, ssh_authorized_keys as
# block or [flow] list; "- default" ignored), runcmd and bootcmd (items: plain/quoted string,
# [flow, list], or | / > block scalar), write_files[] (path, content as scalar or | block,
# permissions, owner, encoding b64/base64/gzip+b64, append).
function sq(s) { gsub(/'/, "'\\''", s); return "'" s "'" }
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function unq(s,   c) {
    s = trim(s); c = substr(s, 1, 1)
    if (c == "\"" && length(s) > 1 && substr(s, length(s), 1) == "\"") {
        s = substr(s, 2, length(s) - 2)
        gsub(/\\\\/, "\001", s); gsub(/\\"/, "\"", s); gsub(/\\n/, "\n", s); gsub(/\\t/, "\t", s); gsub(/\001/, "\\", s)
        return s }
    if (c == "'" && length(s) > 1 && substr(s, length(s), 1) == "'") {
        s = substr(s, 2, length(s) - 2); gsub(/''/, "'", s); return s }
    sub(/[ \t]+#.*$/, "", s)
    return s
}
function flow(s, arr,   n, i, c, cur, q) {
    s = trim(s); s = substr(s, 2, length(s) - 2); n = 0; cur = ""; q = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q != "") { cur = cur c; if (c == q) q = ""; continue }
        if (c == "\"" || c == "'") { q = c; cur = cur c; continue }
        if (c == ",") { arr[++n] = unq(cur); cur = ""; continue }
        cur = cur c
    }
    if (cur ~ /[^ \t]/) arr[++n] = unq(cur)
    return n
}
function ind(l) { match(l, /^ */); return RLENGTH }
function emit_cmd(kind, v,   n, a, i, cmd) {
    v = trim(v)
    if (v ~ /^\[/) { n = flow(v, a); cmd = ""; for (i = 1; i <= n; i++) cmd = cmd (i > 1 ? " " : "") sq(a[i]) }
    else cmd = unq(v)
    print "ci_" kind " " sq(cmd)
}
function flush_user(   i) {
    if (u_active && (u_name != "" || u_nkeys > 0)) {
        print "ci_user " sq(u_name)
        for (i = 1; i <= u_nkeys; i++) print "ci_key " sq(u_name) " " sq(u_keys[i])
    }
    u_active = 0; u_name = ""; u_nkeys = 0; u_sub = ""
}
function flush_file() {
    if (w_active && w_path != "")
        print "ci_write_file " sq(w_path) " " sq(w_perm) " " sq(w_owner) " " sq(w_enc) " " sq(w_append) " " sq(w_content)
    w_active = 0; w_path = ""; w_perm = ""; w_owner = ""; w_enc = ""; w_append = ""; w_content = ""
}
# Block scalars: "|" keeps one trailing newline, "|-" none, "|+" all; ">" folds lines with spaces.
function start_block(kind, hdr, indent) {
    blk_kind = kind; blk_text = ""; blk_ind = indent; blk_body = -1
    blk_chomp = substr(hdr, 2, 1); blk_fold = (substr(hdr, 1, 1) == ">")
}
function end_block(   text) {
    if (blk_kind == "") return
    text = blk_text
    if (blk_chomp != "+") sub(/\n+$/, "", text)
    if (blk_chomp == "") text = text "\n"
    if (blk_kind == "file") w_content = text
    else { sub(/\n$/, "", text); print "ci_" blk_kind " " sq(text) }
    blk_kind = ""
}
BEGIN { sect = "" }
{
    line = $0; sub(/\r$/, "", line)
    if (blk_kind != "") {
        if (line ~ /^[ \t]*$/) { blk_text = blk_text "\n"; next }
        if (ind(line) > blk_ind) {
            if (blk_body < 0) blk_body = ind(line)
            piece = substr(line, blk_body + 1)
            if (blk_fold && blk_text != "" && blk_text !~ /\n\n$/) { sub(/\n$/, " ", blk_text) }
            blk_text = blk_text piece "\n"; next
        }
        end_block()
    }
    if (line ~ /^[ \t]*#/ || line ~ /^[ \t]*$/) next
    i = ind(line); t = substr(line, i + 1)
    if (i == 0 && t !~ /^-/) {            # top-level key
        flush_user(); flush_file()
        key = t; sub(/:.*/, "", key); val = t; sub(/^[^:]*:[ \t]*/, "", val)
        gsub(/-/, "_", key); sect = key
        if (key == "hostname") print "ci_hostname " sq(unq(val))
        else if (key == "fqdn") print "ci_fqdn " sq(unq(val))
        else if (key == "ssh_authorized_keys" && val ~ /^\[/) { n = flow(val, a); for (j = 1; j <= n; j++) print "ci_key '' " sq(a[j]) }
        else if ((key == "runcmd" || key == "bootcmd") && val ~ /^\[/) { n = flow(val, a); for (j = 1; j <= n; j++) print "ci_" key " " sq(a[j]) }
        next
    }
    if (sect == "ssh_authorized_keys" && t ~ /^- /) { print "ci_key '' " sq(unq(substr(t, 3))); next }
    if ((sect == "runcmd" || sect == "bootcmd") && t ~ /^-( |$)/) {
        v = trim(substr(t, 2))
        if (v ~ /^[|>][-+]?$/) { start_block(sect, v, i); next }
        emit_cmd(sect, v); next
    }
    if (sect == "write_files") {
        if (t ~ /^- / && (!w_active || i <= w_item_ind)) { flush_file(); w_active = 1; w_item_ind = i; t = trim(substr(t, 3)); i = i + 2 }
        if (!w_active || t !~ /^[A-Za-z_-]+:/) next
        k = t; sub(/:.*/, "", k); v = t; sub(/^[^:]*:[ \t]*/, "", v); v = trim(v)
        if (k == "path") w_path = unq(v)
        else if (k == "permissions") w_perm = unq(v)
        else if (k == "owner") w_owner = unq(v)
        else if (k == "encoding") w_enc = unq(v)
        else if (k == "append") w_append = unq(v)
        else if (k == "content") { if (v ~ /^[|>][-+]?$/) start_block("file", v, i); else w_content = unq(v) }
        next
    }
    if (sect == "users") {
        if (t ~ /^- / && (!u_active || i <= u_item_ind)) {      # new list item
            flush_user(); u_active = 1; u_item_ind = i
            rest = trim(substr(t, 3))
            if (rest !~ /^[A-Za-z_-]+:/) { v = unq(rest); if (v == "default") u_active = 0; else u_name = v; next }
            t = rest; i = i + 2
        }
        if (!u_active) next
        if (u_sub == "keys" && t ~ /^- / && i >= u_sub_ind) { u_keys[++u_nkeys] = unq(substr(t, 3)); next }
        if (t ~ /^[A-Za-z_-]+:/) {
            k = t; sub(/:.*/, "", k); gsub(/-/, "_", k); v = t; sub(/^[^:]*:[ \t]*/, "", v); u_sub = ""
            if (k == "name") u_name = unq(v)
            else if (k == "ssh_authorized_keys") {
                if (v ~ /^\[/) { n = flow(v, a); for (j = 1; j <= n; j++) u_keys[++u_nkeys] = a[j] }
                else { u_sub = "keys"; u_sub_ind = i }
            }
        }
        next
    }
}
END { end_block(); flush_user(); flush_file() }
