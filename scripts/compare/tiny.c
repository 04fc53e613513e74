/* The C equivalent of examples/tiny.rs: exit with the number of arguments after argv[0]. */
int main(int argc, char **argv) { (void)argv; return argc > 1 ? argc - 1 : 0; }
