"""The training health monitor: recipes/health.py's rules at every log, a warning line when one first fires, a
W&B alert, and a stop with a checkpoint for the rules `train.health.stop_on` names.

Every rank sees the same logs (the trainer reduces the loss and TRL gathers its metrics before logging), so every
rank reaches the same verdict at the same step and stops together; only rank 0 speaks.
"""

from __future__ import annotations

from transformers import TrainerCallback

from recipes import log
from recipes.health import Finding, evaluate, to_json
from recipes.schema import HealthSpec


class HealthMonitor(TrainerCallback):
    def __init__(self, method: str, spec: HealthSpec):
        self.method, self.spec = method, spec
        self.overrides = {name: rule.model_dump(exclude_none=True) for name, rule in spec.rules.items()}
        self.findings: dict[str, Finding] = {}  # what fired in this run, said once each
        self.verdicts: dict[str, Finding | None] = {}  # every rule over the whole history, at the end
        self.stopped_by: Finding | None = None
        self.stopped_at: int | None = None
        self._said: set[str] = set()  # rules already reported (one line each, not one per log)
        self.start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step = state.global_step  # a resumed run: what fired before it was said then

    def on_log(self, args, state, control, logs=None, **kwargs):
        # this run's part of trainer_state's log history (this log is already in it); a rule that fired is not
        # checked again (its first step cannot change as the history grows)
        segment = [h for h in state.log_history if h.get("step", 0) > self.start_step]
        found = evaluate(segment, self.method, self.overrides, skip=set(self._said))
        for name, finding in found.items():
            if finding is None:
                continue
            self._said.add(name)
            self.findings[name] = finding
            log.warning(f"training health: {finding.message}")
            _alert(finding)
            if name in self.spec.stop_on and self.stopped_by is None:
                self.stopped_by, self.stopped_at = finding, state.global_step
                control.should_save = True
                control.should_training_stop = True
                log.warning(
                    f"training health: stopping after step {state.global_step} (train.health.stop_on: {name})"
                )
        return control

    def on_train_end(self, args, state, control, **kwargs):
        """Every rule over the run's whole log history (a resumed run's earlier part too), for the summary; in the
        W&B run's summary, which rules fired (none is a verdict too)."""
        self.verdicts = evaluate(state.log_history, self.method, self.overrides)
        if log.rank() != 0:
            return
        try:
            import wandb

            if wandb.run is not None:
                fired = [name for name, finding in self.verdicts.items() if finding]
                wandb.run.summary["health/fired"] = ", ".join(fired) or "none"
                wandb.run.summary["health/checked"] = len(self.verdicts)
        except Exception as err:
            log.notice(f"W&B health summary not written ({type(err).__name__}: {err})")

    def summary(self) -> dict:
        """train_summary.json's `health` (and why the run stopped, when a rule stopped it)."""
        health = {"rules": to_json(self.verdicts)}
        if self.stopped_by is not None:
            health["stopped_by"] = {
                "rule": self.stopped_by.rule,
                "from_step": self.stopped_by.step,
                "stopped_at": self.stopped_at,
            }
        return health


def _alert(finding: Finding) -> None:
    """A W&B alert on the run TRL logs to (rank 0, when there is one), and the rule's first step in its summary."""
    if log.rank() != 0:
        return
    try:
        import wandb

        if wandb.run is None:
            return
        wandb.run.summary[f"health/{finding.rule}"] = finding.step
        wandb.run.alert(
            title=f"reasonlift: {finding.rule}", text=finding.message, level=wandb.AlertLevel.WARN
        )
    except Exception as err:  # an alert must never stop training
        log.notice(f"W&B alert not sent ({type(err).__name__}: {err})")
