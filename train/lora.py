"""LoRA's frozen base kept bit-exact through TRL's weight syncs to vLLM.

To send vLLM the merged weights, TRL merges the adapters into the base (`merge_adapter()`) and subtracts
them again (`unmerge_adapter()`) before every generation. In a bf16 base both are rounded in-place
additions, so the "frozen" base drifts a little at every sync (TRL issue #6688): after hundreds of steps most
of its weights have moved, which corrupts the KL reference and the saved merged model. Here the merge first
copies the weights it is about to change (to CPU memory: the GPU is left as it was), and the unmerge puts
those copies back, so the base is exactly what was loaded, however many syncs there are.
"""

from __future__ import annotations


def keep_base_exact(peft_model) -> None:
    """Make `peft_model`'s merge_adapter/unmerge_adapter restore the base weights exactly."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    merge, unmerge = peft_model.merge_adapter, peft_model.unmerge_adapter
    saved: dict[str, object] = {}

    def layers():
        return [(n, m) for n, m in peft_model.named_modules() if isinstance(m, BaseTunerLayer)]

    def merge_adapter(*args, **kwargs):
        for name, module in layers():
            if not module.merged:
                saved[name] = module.get_base_layer().weight.detach().to("cpu", copy=True)
        merge(*args, **kwargs)

    def unmerge_adapter(*args, **kwargs):
        unmerge(*args, **kwargs)
        for name, module in layers():
            if name in saved:
                module.get_base_layer().weight.data.copy_(saved.pop(name))

    peft_model.merge_adapter = merge_adapter
    peft_model.unmerge_adapter = unmerge_adapter
