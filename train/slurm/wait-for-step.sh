STEP=$!
# A trapped signal interrupts `wait` (bash runs traps only between commands, so every step runs in the
# background): wait again until the step has ended, and keep its own exit status.
while :; do
  status=0
  wait "$STEP" || status=$?
  kill -0 "$STEP" 2>/dev/null || break
done
if [ "$status" -gt 128 ]; then  # interrupted just as it ended: ask for the status bash recorded
  code=0
  wait "$STEP" 2>/dev/null || code=$?
  [ "$code" -eq 127 ] || status=$code
fi
