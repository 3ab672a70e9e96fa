"""Training stage: SFT with TRL, data preparation, the offline tiny model and toy task."""
