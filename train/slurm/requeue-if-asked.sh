if [ -e "$REASONLIFT_STOP_FILE" ]; then
  rm -f "$REASONLIFT_STOP_FILE"
  if [ "$status" -eq 0 ]; then
    echo "requeueing job $SLURM_JOB_ID: it resumes from the checkpoint just saved"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
fi
