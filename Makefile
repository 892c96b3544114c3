# `make test` and `make book` each set up .venv on a fresh machine, then run.
# torch is installed first and pinned (TORCH_SPEC): an unpinned torch pulls gigabytes of CUDA
# wheels. On a GPU workstation with the conda environment active, use that environment instead:
#     make test VENV=$CONDA_PREFIX        (its CUDA torch is kept: torch is only installed if missing)

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.bisenet-installed

.PHONY: help setup test book clean

help:
	@echo "make test   set up $(VENV) if needed, then run every test (package, CLI, notebooks in the smoke profile)"
	@echo "make book   set up $(VENV) if needed, then build the book strictly into _build/html"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[book,test,deploy,video]"
	@touch $@

test: $(STAMP)
	BISENET_PROFILE=smoke $(BIN)/python -m pytest tests --nbmake notebooks

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

clean:
	rm -rf _build
