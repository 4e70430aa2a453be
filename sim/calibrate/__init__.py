"""Calibration: fit a scenario's uncertain parameters to what a district observed.

    streetsim calibrate scenarios/reform_2015.yaml observed/changning_2015.yaml --out results/calib

``observed`` reads and checks the observed file; ``measures`` computes the observed quantities
that are not KPI columns; ``history`` rules out implausible parameter regions in waves, with the
Gaussian-process emulators of ``emulator``; ``posterior`` samples what remains; ``simulate`` runs
every batch through the sweep machinery; ``fit`` ties them together and ``outputs`` writes the
fitted scenario, tables, figures and report.json.
"""
