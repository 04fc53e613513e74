/* The C equivalent of examples/hello.rs: one write of one line. */
#include <unistd.h>
int main(void) { return write(1, "Hello, world!\n", 14) == 14 ? 0 : 1; }
