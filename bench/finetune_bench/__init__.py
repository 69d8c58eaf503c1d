"""The fine-tuning benchmark of bench/finetune_shifted.py (issue 31), in parts:

    config.py   BenchConfig: every option, one docstring each (the --help text)
    stats.py    bootstrap intervals, improvement and gap recovered (pure numpy)
    stack.py    the real stack: robot-ppo CLI children, serve behind a pty, evaluation runs
    arms.py     the arms: which adapt/finetune options each one passes, and running one
    report.py   results.json, the markdown table and the plot
"""
