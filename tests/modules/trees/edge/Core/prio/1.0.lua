prepend_path{"PATH", "/opt/prio/bin", priority=100}
append_path{"PATH", "/opt/prio/tail", priority=100}
