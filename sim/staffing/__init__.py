"""The staffing planner (``streetsim staff``): the fewest staff per role that meet service targets.

first_guess  Erlang C on each role's measured load and calendar (step 1)
evaluate     replications added until each target's confidence bound decides it (step 2)
search       coordinate search down from the guess, least cost among feasible staffings (step 3)
planner      the whole procedure; output: tables, figure, report.json; targets: the target syntax
"""
