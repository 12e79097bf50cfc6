"""The control plane: one command service and the views of the fund that its transports
(Redis Streams, HTTP) and the metrics share."""
