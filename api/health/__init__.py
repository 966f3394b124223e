"""Operations: liveness, readiness (each dependency checked) and the Prometheus page."""
