# `make test` and `make book` each set up .venv on a fresh machine, then run.
# torch is installed first and pinned (TORCH_SPEC): an unpinned torch pulls gigabytes of CUDA
# wheels. On a GPU workstation with the conda environment active, use that environment instead:
#     make test VENV=$CONDA_PREFIX        (its CUDA torch is kept: torch is only installed if missing)

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
# where the book keeps what it makes once (MiniCity, the trained models): the package's own
# default is ~/.cache/bisenet; the book passes the repository's folder in
BOOK_CACHE ?= $(CURDIR)/.cache/bisenet
SMOKE_CACHE := $(CURDIR)/_build/smoke/cache
# `make book SOLUTIONS=0` (or `make book-students`) builds the students' edition instead: the same
# book without the exercises' solutions, into _build/students/_build/html (tools/strip_solutions.py);
# it reuses the full build's executed notebooks (their code is the same) when the full book was built
SOLUTIONS  ?= 1
STUDENTS   := _build/students
# the tests (and, under nbmake, the notebooks) run in TEST_WORKERS processes of one thread each
# (pytest-xdist): on the 2-core build machine about 1.6x faster than one two-thread process, as
# most of the suite is Python overhead on small tensors. TEST_WORKERS=0 runs them in make's process.
TEST_WORKERS ?= 2
PARALLEL    = OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS)
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.bisenet-installed

.PHONY: help setup test book book-full book-students clean

help:
	@echo "make test           set up $(VENV) if needed, then run every test (package, CLI, the GPU check's dry run, every notebook in the smoke and gpu-dryrun profiles)"
	@echo "make book           set up $(VENV) if needed, then build the book strictly into _build/html, with a slide deck per chapter in _build/html/slides"
	@echo "make book-students  the same book without the exercises' solutions, into $(STUDENTS)/_build/html (also: make book SOLUTIONS=0)"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[book,test,deploy,video,openvino]"
	@touch $@

test: $(STAMP)
	@# lint and format first (pyproject.toml's [tool.ruff]): seconds, and CI enforces them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	BISENET_PROFILE=smoke BISENET_CACHE=$(SMOKE_CACHE) $(PARALLEL) tests
	@# every notebook runs in the smoke profile: inside a strict smoke build of the whole book (which
	@# fails on any cell error or warning) and its check when Chromium is installed, else under nbmake
	@if $(BIN)/python -c "import tools.check_book as c, sys; sys.exit(0 if c.chromium_binary() else 1)"; then \
		echo "Chromium found: building the book in the smoke profile (executes every notebook) and checking it"; \
		rm -rf _build/smoke && \
		BISENET_PROFILE=smoke BISENET_CACHE=$(SMOKE_CACHE) $(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/smoke && \
		$(BIN)/python tools/slides.py --executed _build/smoke/_build/jupyter_execute --html _build/smoke/_build/html && \
		$(BIN)/python tools/check_book.py --build _build/smoke/_build/html; \
	else \
		echo "Chromium not installed: running the notebooks under nbmake (the built-book check runs in 'make book')"; \
		BISENET_PROFILE=smoke BISENET_CACHE=$(SMOKE_CACHE) $(PARALLEL) --nbmake notebooks; \
	fi
	@# and every notebook again in gpu-dryrun: the gpu profile's branches, recipes and file names at
	@# smoke sizes on the CPU (bisenet/profiles.py), sharing the smoke cache's MiniCity
	BISENET_PROFILE=gpu-dryrun BISENET_CACHE=$(SMOKE_CACHE) $(PARALLEL) --nbmake notebooks

ifeq ($(SOLUTIONS),0)
book: book-students
else
book: book-full
endif

# the execution cache keys on the notebooks' code only: tools/execution_inputs.py empties it when
# book/data, the package or the profile's variables changed since the notebooks last ran
book-full: $(STAMP)
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/python -m bisenet book-cache
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/python tools/execution_inputs.py --cache _build/.jupyter_cache
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python tools/slides.py --executed _build/jupyter_execute --html _build/html
	$(BIN)/python tools/check_book.py

# the sources are copied without solutions into $(STUDENTS)/source, then built like the full book
book-students: $(STAMP)
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/python -m bisenet book-cache
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/python tools/execution_inputs.py --cache _build/.jupyter_cache
	$(BIN)/python tools/strip_solutions.py --out $(STUDENTS)/source --cache $(CURDIR)/_build/.jupyter_cache
	BISENET_CACHE=$(BOOK_CACHE) $(BIN)/jupyter-book build $(STUDENTS)/source -W -n --keep-going --path-output $(STUDENTS)
	$(BIN)/python tools/slides.py --executed $(STUDENTS)/_build/jupyter_execute --html $(STUDENTS)/_build/html --toc $(STUDENTS)/source/_toc.yml
	$(BIN)/python tools/check_book.py --build $(STUDENTS)/_build/html --toc $(STUDENTS)/source/_toc.yml --students

clean:
	rm -rf _build
