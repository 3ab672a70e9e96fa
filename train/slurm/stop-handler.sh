# Near the time limit Slurm signals this script (--signal=B:USR1): training checkpoints after its current
# step and stops, then the job requeues itself and resumes from that checkpoint.
export REASONLIFT_STOP_FILE="${TMPDIR:-/tmp}/reasonlift-stop-$SLURM_JOB_ID"
rm -f "$REASONLIFT_STOP_FILE"
trap 'echo "time limit near: checkpointing after the current step"; touch "$REASONLIFT_STOP_FILE"' USR1
