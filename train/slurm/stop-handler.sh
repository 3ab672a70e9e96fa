# Near the time limit Slurm signals this script (--signal=B:USR1): training checkpoints after its current
# step and stops, then the job requeues itself and resumes from that checkpoint. The request is a file on
# the log folder's filesystem, which every node sees (training's rank 0 need not run on this node).
export REASONLIFT_STOP_FILE="@@LOG_DIR@@/.stop-$SLURM_JOB_ID"
rm -f "$REASONLIFT_STOP_FILE"
trap 'echo "time limit near: checkpointing after the current step"; touch "$REASONLIFT_STOP_FILE"' USR1
