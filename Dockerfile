# The Airflow image with hp_archive installed; used by docker-compose.yml for a real deployment.
FROM apache/airflow:3.3.2-python3.11

USER airflow
COPY --chown=airflow:root pyproject.toml README.md /opt/hp-archive/
COPY --chown=airflow:root hp_archive /opt/hp-archive/hp_archive
RUN pip install --no-cache-dir "/opt/hp-archive[postgres,airflow]"
