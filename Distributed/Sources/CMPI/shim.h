// Open MPI's C API, found through pkg-config (Debian's libopenmpi-dev: ompi.pc).
#include <mpi.h>
