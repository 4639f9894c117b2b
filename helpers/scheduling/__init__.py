"""What the Airflow DAG imports: the accounts file (``accounts``) and the runner's contract with a scheduler
(``runner_contract``: the command line, exit codes, environment). Standard library only, so Airflow's own
environment can import it without the project's virtualenv."""
