"""The evaluation protocol that training shares: the task catalog, DeepSeek's prompts, the chat template,
the one answer checker and the GRPO rewards built on it. Imports only the core (recipes/)."""
