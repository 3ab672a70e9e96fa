STEP=$!
# a signal interrupts `wait`: wait again until the training step has ended
status=0
wait "$STEP" || status=$?
while kill -0 "$STEP" 2>/dev/null; do status=0; wait "$STEP" || status=$?; done
if [ -e "$REASONLIFT_STOP_FILE" ]; then
  rm -f "$REASONLIFT_STOP_FILE"
  if [ "$status" -eq 0 ]; then
    echo "requeueing job $SLURM_JOB_ID: it resumes from the checkpoint just saved"
    scontrol requeue "$SLURM_JOB_ID"
  fi
fi
exit "$status"
