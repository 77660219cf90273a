/* main.c: the jobctl program; all of it lives in jobctl_core (jobctl.h). */
#include <stdio.h>

#include "jobctl.h"

int main(int argc, char **argv)
{
	return jq_ctl_run(argc, argv, stdout, stderr);
}
