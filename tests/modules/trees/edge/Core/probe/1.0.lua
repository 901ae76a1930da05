-- Reads the state of other modules at load time.
if isloaded("refa") then setenv("PROBE_SAW_REFA", "yes") else setenv("PROBE_SAW_REFA", "no") end
if isAvail("refb") then setenv("PROBE_REFB_AVAIL", "yes") else setenv("PROBE_REFB_AVAIL", "no") end
if isAvail("nosuchmodule") then setenv("PROBE_NOSUCH_AVAIL", "yes") else setenv("PROBE_NOSUCH_AVAIL", "no") end
