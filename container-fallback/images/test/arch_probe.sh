#!/bin/sh
# The "arch probe" test action (multiarch.sh builds it for amd64 and arm64 on busybox alone): an
# action proxy speaking just enough of OpenWhisk's action-container protocol on port 8080.
#   arch_probe.sh serve   # the image's Cmd: busybox nc runs this script once per connection
#   POST /init            # -> 200 {"ok":true}
#   POST /run             # sleeps value.sleep seconds when it is a number, prints the log
#                         # sentinel to the container's stdout and stderr -> 200 {"arch":"<uname -m>"}
# Answers carry Content-Length and Connection: close; a request body must come with
# Content-Length (not chunked). "sleep" is looked up anywhere in the body, not only in value.
if [ "${1:-}" = serve ]; then
    # PID 1 ends on docker stop's SIGTERM (the kernel then ends nc and the exchanges under way).
    trap 'exit 0' TERM INT
    nc -ll -p 8080 -e /arch_probe.sh &
    wait
    exit 0
fi

cr="$(printf '\r')"
read -r method path _
len=0
expect=
while read -r line; do
    line="${line%"$cr"}"
    [ -n "$line" ] || break
    case "$line" in
    [Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][Nn][Gg][Tt][Hh]:*) len="${line#*:}"; len="${len#"${len%%[0-9]*}"}" ;;
    [Ee][Xx][Pp][Ee][Cc][Tt]:*100-[Cc][Oo][Nn][Tt][Ii][Nn][Uu][Ee]*) expect=1 ;;
    esac
done
[ -z "$expect" ] || printf 'HTTP/1.1 100 Continue\r\n\r\n'
body=
[ "$len" -gt 0 ] 2>/dev/null && body="$(head -c "$len")"

status="200 OK"
case "$method $path" in
"POST /init")
    out='{"ok":true}'
    ;;
"POST /run")
    s="$(printf '%s' "$body" | sed -n 's/.*"sleep"[[:space:]]*:[[:space:]]*\([0-9][0-9.]*\).*/\1/p')"
    [ -z "$s" ] || sleep "$s"
    echo XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX >/proc/1/fd/1
    echo XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX >/proc/1/fd/2
    out="{\"arch\":\"$(uname -m)\"}"
    ;;
*)
    status="404 Not Found"
    out='{"error":"The requested resource does not exist."}'
    ;;
esac
printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$status" "${#out}" "$out"
