"""`paperfund ctl`: send a command to a running fund over Redis or HTTP and print the outcome."""
