"""`robot-ppo adapt`: rounds of collect on the robot -> fine-tune (KL leash to the
reference) -> export, each round's policy judged on the robot and rolled back if worse.

    config.py    AdaptConfig (the options; extends FinetuneConfig)
    collect.py   a round's episodes: one `robot-ppo run --explore --log-dir` each
    rollback.py  the rule that keeps or rolls back a round's policy
    table.py     the running table (rounds.csv)
    rounds.py    the loop, its files and the final policy
"""
