# The trainer's address for the weight-sync group, as the vLLM server reaches it: TRL's client advertises
# vLLM's get_ip(), which answers 0.0.0.0 on a node without a default route (common on compute nodes), and the
# first weight sync then waits forever. The first training node's name, resolved here (REASONLIFT_TRAINER_IP
# overrides it, for a node whose name resolves to an address the server cannot reach).
TRAINER_IP=${REASONLIFT_TRAINER_IP:-$(getent ahostsv4 "$MASTER_ADDR" 2>/dev/null | awk 'NR == 1 {print $1}')}
if [ -z "$TRAINER_IP" ] || [ "$TRAINER_IP" = "0.0.0.0" ]; then
  echo "cannot resolve the training node $MASTER_ADDR to an address for vLLM's weight sync: set REASONLIFT_TRAINER_IP"
  exit 1
fi
