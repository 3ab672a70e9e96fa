#!/bin/bash
# reasonlift: submit a checkpoint sweep: the evaluation array, then the compare once all of it succeeded.
set -euo pipefail
array_id=$(sbatch --parsable "@@ARRAY_SCRIPT@@")
array_id="${array_id%%;*}"  # --parsable prints "id;cluster" on multi-cluster installations
compare_id=$(sbatch --parsable --dependency="afterok:${array_id}" --kill-on-invalid-dep=yes \
  "@@COMPARE_SCRIPT@@")
compare_id="${compare_id%%;*}"
echo "submitted ${array_id} (array of @@COUNT@@ models) and ${compare_id} (compare, after the array succeeds)"
echo "logs: @@LOG_DIR@@; results: the recipe's compare folder once ${compare_id} has run"
