"""Parameter sweeps: experiment files, designs, executors, the Parquet store and sweep figures.

    from sim.sweep import experiment, store
    exp = experiment.load("experiments/party_worker_ratio.yaml")
    table = store.read_results("results/party_worker_ratio")

Dask and SALib are imported inside the functions that need them, so ``streetsim run`` stays fast.
"""
