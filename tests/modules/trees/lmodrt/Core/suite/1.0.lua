depends_on("piece-a")
load("piece-b")
depends_on("piece-c")
